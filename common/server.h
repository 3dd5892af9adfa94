/* What every C server under the server contract (README, "The server
 * contract") shares: the greeting, the read size, the command line, the
 * listening socket with its ready file, and the summary line. */
#ifndef SERVER_H
#define SERVER_H

#include <stdint.h>

/* Sent first to every accepted client; clients wait for it, which proves
 * that the server's handler (not just the kernel's handshake) runs. */
#define GREETING "HELLO papaya-bench\n"
/* Every server reads up to this much at a time and writes each read to
 * stdout with one write(2): equal system calls for equal traffic. */
#define READ_SIZE 4096

struct server_options {
    const char *host;
    const char *port;
    const char *ready_file;
    unsigned max_clients;
    int reply;  /* write each read back to its client too (--reply) */
};

/* What a server did, for its summary. */
struct server_counts {
    uint64_t accepted;
    uint64_t refused;
    uint64_t bytes;  /* received from clients, relayed to stdout */
    uint64_t reads;  /* reads that returned data: the server's wake-ups */
};

/* --host, --port, --ready-file, --max-clients, --reply and --help; `about` is the
 * usage's line on what the server is. Exits 2 on a bad flag. */
struct server_options server_options(int argc, char *argv[], const char *about);

/* Listen (non-blocking, close-on-exec) and write the bound port to the
 * ready file, if any, atomically; exits 1 naming the address on failure. */
int listen_and_announce(const struct server_options *o);

/* How a server takes its clients: a connection beyond max live clients is
 * closed at once, without a greeting; any other goes to start, which
 * returns -1 (the socket closed, errno set) where it cannot serve it. */
struct acceptor {
    int flags;                      /* accept4 flags beyond close-on-exec */
    unsigned max;
    unsigned (*live)(void *arg);
    int (*start)(int fd, void *arg);
    const char *start_call;         /* names start's failure: "fork" */
    void *arg;
};

/* Accept every pending connection of the non-blocking listener, counting
 * it accepted or refused. Returns -1 on an error that must stop the
 * server, named on stderr. */
int accept_pending(int lfd, const struct acceptor *a, struct server_counts *n);

/* One read relayed: written to stdout with one write(2) (exits if that
 * fails) and, with --reply, back to its client on fd, a blocking socket.
 * Returns -1 where the client is gone, which ends its session. */
int relay(int fd, const char *buf, size_t n, int reply);

/* The one JSON line on stderr at exit. */
void print_summary(const struct server_counts *n);

#endif
