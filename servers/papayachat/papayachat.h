/* papayachat: a chat server that serves every client from its own process. */
#ifndef PAPAYACHAT_H
#define PAPAYACHAT_H

#include <stdint.h>
#include <sys/types.h>

/* What a child relayed: its bytes, and its reads (each one a wake-up of
 * the child, the figure the load's cadence moves). */
struct relayed {
    uint64_t bytes;
    uint64_t reads;
};

/* client.c: the child's whole life; never returns. *out is shared with the
 * parent, which reads it after reaping the child. */
__attribute__((noreturn)) void serve_client(int fd, struct relayed *out,
                                           int reply);

/* children.c: the table of live children, in which what each child
 * relayed survives its death. */
struct children;
/* listen_fd is closed in every child; reply: --reply. */
struct children *children_create(unsigned max, int listen_fd, int reply);
unsigned children_live(const struct children *c);
/* Fork a child for fd; the parent closes fd. Returns -1 if fork failed. */
int children_spawn(struct children *c, int fd);
/* Reap every exited child without blocking; returns how many. */
unsigned children_reap(struct children *c);
/* SIGTERM every child, reap all of them (SIGKILL after grace_s). */
void children_stop_all(struct children *c, double grace_s);
struct relayed children_relayed(const struct children *c);
void children_destroy(struct children *c);

#endif
