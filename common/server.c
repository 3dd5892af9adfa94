/* The parts of the server contract every C server shares. Port 0 asks the
 * kernel for any free port, so concurrent runs never collide; the port
 * actually bound is written to the ready file, whole or not at all. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "papaya.h"
#include "server.h"

static void usage(FILE *out, const char *about)
{
    fprintf(out,
            "usage: %s [--host H] [--port P] [--ready-file PATH]\n"
            "       [--max-clients N] [--reply]\n"
            "%s\n"
            "  --host H           address to listen on (default 127.0.0.1)\n"
            "  --port P           port, 0 for any free port (default 0)\n"
            "  --ready-file PATH  write the bound port there once listening\n"
            "  --max-clients N    refuse connections beyond N (default 4096)\n"
            "  --reply            also write each read back to its client, for\n"
            "                     loadgen --latency to time\n"
            "Received bytes go to stdout; a JSON summary goes to stderr at "
            "exit.\n",
            papaya_prog, about);
}

struct server_options server_options(int argc, char *argv[], const char *about)
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ready-file", required_argument, NULL, 'r'},
        {"max-clients", required_argument, NULL, 'm'},
        {"reply", no_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    struct server_options o = {"127.0.0.1", "0", NULL, 4096, 0};
    int opt;

    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': o.host = optarg; break;
        case 'p': parse_u64("--port", optarg, 0, 65535); o.port = optarg; break;
        case 'r': o.ready_file = optarg; break;
        case 'm':
            o.max_clients =
                (unsigned)parse_u64("--max-clients", optarg, 1, 1 << 20);
            break;
        case 'e': o.reply = 1; break;
        case 'H': usage(stdout, about); exit(0);
        default: usage(stderr, about); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    return o;
}

static unsigned socket_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof(addr);

    if (getsockname(fd, (struct sockaddr *)&addr, &len) == -1)
        die_errno("getsockname");
    if (addr.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static int open_listener(const char *host, const char *port)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, err, saved = 0, one = 1;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    err = getaddrinfo(host, port, &hints, &res);
    if (err != 0)
        die("cannot listen on %s:%s: %s", host, port, gai_strerror(err));

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd == -1) {
            saved = errno;
            continue;
        }
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, SOMAXCONN) == 0)
            break;
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd == -1) {
        errno = saved;
        die_errno("cannot listen on %s:%s", host, port);
    }
    return fd;
}

int listen_and_announce(const struct server_options *o)
{
    int fd = open_listener(o->host, o->port);
    char line[32];

    if (o->ready_file != NULL) {
        int len = snprintf(line, sizeof(line), "%u\n", socket_port(fd));
        write_file_atomic(o->ready_file, line, (size_t)len);
    }
    return fd;
}

static void take(int fd, const struct acceptor *a, struct server_counts *n)
{
    if (a->live(a->arg) >= a->max) {
        close(fd);
        n->refused++;
    } else if (a->start(fd, a->arg) == -1) {
        fprintf(stderr, "%s: %s: %s; connection refused\n", papaya_prog,
                a->start_call, strerror(errno));
        n->refused++;
    } else {
        n->accepted++;
    }
}

int accept_pending(int lfd, const struct acceptor *a, struct server_counts *n)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, a->flags | SOCK_CLOEXEC);

        if (fd != -1) {
            take(fd, a, n);
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        if (errno != EINTR && errno != ECONNABORTED) {
            fprintf(stderr, "%s: accept: %s\n", papaya_prog, strerror(errno));
            return -1;
        }
    }
}

void print_summary(const struct server_counts *n)
{
    /* One fprintf: the line cannot interleave with other output. */
    fprintf(stderr,
            "{\"server\":\"%s\",\"accepted\":%llu,\"refused\":%llu,"
            "\"bytes_received\":%llu,\"reads\":%llu}\n",
            papaya_prog, (unsigned long long)n->accepted,
            (unsigned long long)n->refused, (unsigned long long)n->bytes,
            (unsigned long long)n->reads);
}

int relay(int fd, const char *buf, size_t n, int reply)
{
    if (write_all(STDOUT_FILENO, buf, n) == -1)
        die_errno("write to stdout");
    return reply ? write_all(fd, buf, n) : 0;
}
