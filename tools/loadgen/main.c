/* loadgen: open N connections, wait for every greeting, then send to all
 * of them at a fixed per-connection rate and report what was sent.
 * Any connection that fails or closes early ends the run with an error:
 * a partial load must never pass for a full one. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

/* Descriptors beyond the connections: stdio, the connect phase's epoll,
 * signalfd, the workers' stop eventfd, the output files; and each
 * worker's epoll and timerfd (FDS_PER_THREAD). */
#define SPARE_FDS 12
#define FDS_PER_THREAD 2

static void usage(FILE *out)
{
    fprintf(out,
"usage: loadgen --port P [options]\n"
"Open N TCP connections, wait for each server greeting (a line), then send\n"
"to every connection at a fixed rate; write JSON stats at the end.\n"
"  --host H            server address (default 127.0.0.1)\n"
"  --port P            server port (required)\n"
"  --connections N     concurrent connections (default 1)\n"
"  --rate R            per connection: 1Mbps, 250kbps, 100msg/s (default 1Mbps)\n"
"  --message TEXT      bytes to repeat, \\n for newline (default 'message\\n')\n"
"  --duration S        seconds to send; 0 = until SIGTERM/SIGINT (default 0)\n"
"  --write-interval T  each connection's write cadence, e.g. 1100us, 1ms\n"
"                      (default 1100us: about 900 writes/s per connection)\n"
"  --phases P          aligned: every connection writes at the same ticks, as\n"
"                      from one timer (default); random: each connection's\n"
"                      ticks are offset by a fixed random part of the period,\n"
"                      so arrivals are independent\n"
"  --burst N           N writes back to back every N write intervals, as a\n"
"                      rate limiter with a deeper bucket lets through: the\n"
"                      same writes and bytes, in bursts (default 1)\n"
"  --threads N         worker threads that send the load, each on its own\n"
"                      share of the connections and pinned to one CPU of the\n"
"                      affinity mask (round-robin); the schedule is the same\n"
"                      whatever N (default: one per CPU of the mask; at most\n"
"                      one per connection)\n"
"  --latency           the server echoes what it reads (its --reply): time\n"
"                      each write until its last byte comes back, from when\n"
"                      its oldest byte was due on the schedule, into a\n"
"                      histogram (3 significant digits, ns to minutes)\n"
"  --drain S           with --latency, seconds to wait at the end for the\n"
"                      replies still on their way (default 1)\n"
"  --nodelay           set TCP_NODELAY: Nagle's algorithm off (default on,\n"
"                      so small writes may wait for an ACK and coalesce)\n"
"  --write-before-greeting\n"
"                      send each connection's first message as soon as it is\n"
"                      connected, before the greeting, as tcpkali does (the\n"
"                      server's socket then delays its ACKs, and with Nagle\n"
"                      on its reads coalesce); not with --latency\n"
"  --connect-timeout S seconds to wait for all greetings (default 30)\n"
"  --ready-file PATH   written once every client has been greeted\n"
"  --out PATH          stats JSON (default stdout)\n");
}

/* Turn the two-character escape "\n" into a newline, so that shells and
 * config files can pass a line-terminated message. */
static char *unescape(const char *text, size_t *len)
{
    char *out = malloc(strlen(text) + 1), *p = out;

    if (out == NULL)
        die_errno("malloc");
    for (; *text != '\0'; text++) {
        if (text[0] == '\\' && text[1] == 'n') {
            *p++ = '\n';
            text++;
        } else {
            *p++ = *text;
        }
    }
    *len = (size_t)(p - out);
    *p = '\0';
    if (*len == 0)
        die_usage("--message: must not be empty");
    return out;
}

static struct config parse_args(int argc, char *argv[])
{
    static const struct option longopts[] = {
        {"host", required_argument, NULL, 'h'},
        {"port", required_argument, NULL, 'p'},
        {"connections", required_argument, NULL, 'n'},
        {"rate", required_argument, NULL, 'r'},
        {"message", required_argument, NULL, 'm'},
        {"duration", required_argument, NULL, 'd'},
        {"write-interval", required_argument, NULL, 'i'},
        {"phases", required_argument, NULL, 'P'},
        {"burst", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 'T'},
        {"latency", no_argument, NULL, 'L'},
        {"drain", required_argument, NULL, 'D'},
        {"nodelay", no_argument, NULL, 'N'},
        {"write-before-greeting", no_argument, NULL, 'E'},
        {"connect-timeout", required_argument, NULL, 't'},
        {"ready-file", required_argument, NULL, 'R'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    struct config c = {.host = "127.0.0.1", .connections = 1,
                       .message = "message\\n", .interval_s = 1100e-6,
                       .burst = 1, .phases = PHASES_ALIGNED,
                       .connect_timeout_s = 30, .drain_s = 1};
    int opt;

    parse_rate("1Mbps", &c.rate);
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'h': c.host = optarg; break;
        case 'p':
            parse_u64("--port", optarg, 1, 65535);
            c.port = optarg;
            break;
        case 'n':
            c.connections =
                (unsigned)parse_u64("--connections", optarg, 1, 1000000);
            break;
        case 'r': parse_rate(optarg, &c.rate); break;
        case 'm': c.message = optarg; break;
        case 'd':
            c.duration_s = strcmp(optarg, "0") == 0
                               ? 0
                               : parse_positive_double("--duration", optarg);
            break;
        case 'i': c.interval_s = parse_interval(optarg); break;
        case 'P': c.phases = parse_phases(optarg); break;
        case 'b':
            c.burst = (unsigned)parse_u64("--burst", optarg, 1, 1000);
            break;
        case 'T':
            c.threads = (unsigned)parse_u64("--threads", optarg, 1, 4096);
            break;
        case 'L': c.latency = 1; break;
        case 'D': c.drain_s = parse_positive_double("--drain", optarg); break;
        case 'N': c.nodelay = 1; break;
        case 'E': c.write_early = 1; break;
        case 't':
            c.connect_timeout_s =
                parse_positive_double("--connect-timeout", optarg);
            break;
        case 'R': c.ready_file = optarg; break;
        case 'o': c.out = optarg; break;
        case 'H': usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc)
        die_usage("unexpected argument '%s'", argv[optind]);
    if (c.port == NULL)
        die_usage("--port is required");
    /* Its reply would arrive behind the greeting, unaccounted. */
    if (c.write_early && c.latency)
        die_usage("--write-before-greeting cannot be used with --latency");
    c.message = unescape(c.message, &c.message_len);
    if (c.threads == 0)
        c.threads = affinity_cpus();
    /* A worker without a connection would have nothing to pace. */
    if (c.threads > c.connections)
        c.threads = c.connections;
    return c;
}

/* Raise the soft descriptor limit to the hard one, and refuse plainly when
 * even that cannot hold every connection. */
static void ensure_fd_limit(unsigned connections, unsigned threads)
{
    struct rlimit rl;
    rlim_t need = (rlim_t)connections + SPARE_FDS +
                  (rlim_t)threads * FDS_PER_THREAD;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("getrlimit");
    if (rl.rlim_cur >= need)
        return;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
        die("%u connections need %llu file descriptors, but the limit is "
            "%llu (ulimit -Hn): raise it or use fewer connections",
            connections, (unsigned long long)need,
            (unsigned long long)rl.rlim_max);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
        die_errno("setrlimit RLIMIT_NOFILE");
}

/* SIGTERM and SIGINT arrive as a descriptor in the event loop, so a stop
 * is handled between two passes, never in the middle of one. Called before
 * any worker starts: stop_signal_fd blocks the signals and every worker
 * inherits that mask, so no thread can take a signal's default action (an
 * end without stats); the signal waits in the signalfd for a worker. */
static int signal_fd(int epfd)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = SIGNAL_TAG}};
    int fd = stop_signal_fd();

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl");
    return fd;
}

int main(int argc, char *argv[])
{
    struct config cfg;
    struct conn *conns;
    struct run run = {0};
    int epfd, sigfd;

    papaya_prog = "loadgen";
    cfg = parse_args(argc, argv);
    ensure_fd_limit(cfg.connections, cfg.threads);
    conns = calloc(cfg.connections, sizeof(*conns));
    if (conns == NULL)
        die_errno("calloc");
    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd == -1)
        die_errno("epoll_create1");
    sigfd = signal_fd(epfd);

    connect_all(&cfg, conns, epfd, &run);
    /* The workers watch the connections and signals on epolls of their own. */
    if (close(epfd) == -1)
        die_errno("close epoll");
    if (cfg.ready_file != NULL)
        write_file_atomic(cfg.ready_file, "ready\n", 6);
    if (cfg.latency)
        hist_init(&run.latency);
    run_workers(&cfg, conns, sigfd, &run);
    report(&cfg, conns, &run);

    for (unsigned i = 0; i < cfg.connections; i++) {
        if (close(conns[i].fd) == -1)
            die_errno("close connection %u", i);
        free(conns[i].fly);
    }
    hist_free(&run.latency);
    if (close(sigfd) == -1)
        die_errno("close signalfd");
    free(conns);
    free((char *)cfg.message);
    return 0;
}
