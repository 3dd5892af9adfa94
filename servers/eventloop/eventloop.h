/* eventloop: a chat server that serves every client from one thread with
 * non-blocking sockets and epoll: no context switch per message, the floor
 * the other models pay above. */
#ifndef EVENTLOOP_H
#define EVENTLOOP_H

#include "server.h"

/* epoll tags of the descriptors that are not clients. */
#define LISTEN_TAG UINT64_MAX
#define SIGNAL_TAG (UINT64_MAX - 1)

/* conns.c: the clients, by slot; every call exits with a message on an
 * error that must stop the server. */
struct conns;
struct conns *conns_create(unsigned max, int epfd, int reply);
/* Accept everything pending on lfd: greeted and watched, or refused
 * beyond max. Returns -1 on an error that must stop the server. */
int conns_accept(struct conns *c, int lfd, struct server_counts *n);
/* The client in slot is ready: one read, relayed with one write (and,
 * with --reply, written back), or the rest of a reply; closes it at EOF or
 * on an error. */
void conns_ready(struct conns *c, unsigned slot, struct server_counts *n);
/* Close every client. */
void conns_close_all(struct conns *c);
void conns_destroy(struct conns *c);

#endif
