/* papayachat: accept clients and fork one process per client.
 *
 * Signals are blocked except inside ppoll(), so SIGCHLD and SIGTERM are
 * seen at one point of the loop and never interrupt its bookkeeping. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "papaya.h"
#include "papayachat.h"

#define SHUTDOWN_GRACE_S 3.0

struct options {
    const char *host;
    const char *port;
    const char *ready_file;
    unsigned max_clients;
};

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_child;

static void on_stop(int sig)
{
    (void)sig;
    got_stop = 1;
}

static void on_child(int sig)
{
    (void)sig;
    got_child = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: papayachat [--host H] [--port P] [--ready-file PATH]\n"
            "                  [--max-clients N]\n"
            "A chat server that serves each client from its own process.\n"
            "  --host H           address to listen on (default 127.0.0.1)\n"
            "  --port P           port, 0 for any free port (default 0)\n"
            "  --ready-file PATH  write the bound port there once listening\n"
            "  --max-clients N    refuse connections beyond N (default 4096)\n"
            "Received bytes go to stdout; a JSON summary goes to stderr at "
            "exit.\n");
}

static struct options parse_args(int argc, char *argv[])
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"ready-file", required_argument, NULL, 'r'},
        {"max-clients", required_argument, NULL, 'm'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    struct options o = {"127.0.0.1", "0", NULL, 4096};
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
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    return o;
}

static void install_handlers(sigset_t *unblocked)
{
    struct sigaction sa;
    sigset_t block;

    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &block, unblocked) == -1)
        die_errno("sigprocmask");

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) == -1 ||
        sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");
    sa.sa_handler = on_child;
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die_errno("sigaction");
    /* A client that vanishes must end its own process, not the server. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die_errno("signal");
}

struct counts {
    uint64_t accepted;
    uint64_t refused;
};

/* Accept everything pending. Returns -1 on an error that must stop the
 * server (which then still stops and reaps its children). */
static int accept_pending(int lfd, struct children *kids, unsigned max,
                          struct counts *n)
{
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "papayachat: accept: %s\n", strerror(errno));
            return -1;
        }
        if (children_live(kids) >= max) {
            close(fd);
            n->refused++;
        } else if (children_spawn(kids, fd, lfd) == -1) {
            fprintf(stderr, "papayachat: fork: %s; connection refused\n",
                    strerror(errno));
            n->refused++;
        } else {
            n->accepted++;
        }
    }
}

int main(int argc, char *argv[])
{
    struct options o;
    struct children *kids;
    struct counts n = {0, 0};
    struct relayed relayed;
    sigset_t unblocked;
    unsigned port;
    int lfd, status = 0;
    char line[32];

    papaya_prog = "papayachat";
    o = parse_args(argc, argv);
    install_handlers(&unblocked);
    kids = children_create(o.max_clients);
    lfd = open_listener(o.host, o.port, &port);
    if (o.ready_file != NULL) {
        int len = snprintf(line, sizeof(line), "%u\n", port);
        write_file_atomic(o.ready_file, line, (size_t)len);
    }

    while (!got_stop) {
        struct pollfd pfd = {lfd, POLLIN, 0};
        int r = ppoll(&pfd, 1, NULL, &unblocked);

        if (r == -1 && errno != EINTR)
            die_errno("ppoll");
        if (got_child) {
            got_child = 0;
            children_reap(kids);
        }
        if (r > 0 && accept_pending(lfd, kids, o.max_clients, &n) == -1) {
            status = 1;
            break;
        }
    }

    if (close(lfd) == -1)
        die_errno("close listener");
    children_stop_all(kids, SHUTDOWN_GRACE_S);
    relayed = children_relayed(kids);
    fprintf(stderr,
            "{\"server\":\"papayachat\",\"accepted\":%llu,\"refused\":%llu,"
            "\"bytes_received\":%llu,\"reads\":%llu}\n",
            (unsigned long long)n.accepted, (unsigned long long)n.refused,
            (unsigned long long)relayed.bytes,
            (unsigned long long)relayed.reads);
    children_destroy(kids);
    return status;
}
