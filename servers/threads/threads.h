/* threads: a chat server that serves every client from its own POSIX
 * thread: kernel context switches per message, as with a process per
 * client, but no change of address space. */
#ifndef THREADS_H
#define THREADS_H

#include <stdint.h>

#include "server.h"

/* clients.c: the table of client threads. A finished thread is joined,
 * and its socket closed, only by the main thread: a socket closed by its
 * own thread could be reused by an accept while the main thread still
 * meant the old one. */
struct clients;
struct clients *clients_create(unsigned max, int reply);
/* Joins finished threads; then the live ones. */
unsigned clients_live(struct clients *c);
/* Start a thread for fd. Returns -1 (fd closed) if none can be started. */
int clients_spawn(struct clients *c, int fd);
/* Shut every client's socket down (its read returns 0), join them all,
 * and put what every thread relayed in n. */
void clients_stop_all(struct clients *c, struct server_counts *n);
void clients_destroy(struct clients *c);

#endif
