/* The connect phase. A completed TCP handshake proves nothing about the
 * server (the kernel accepts before the server does), so a client counts
 * as ready only once the server's greeting line has arrived.
 *
 * Two settings reproduce what tcpkali 1.2 (the 2022 study's generator)
 * does on the wire. It writes as soon as it is connected, so its first
 * message reaches the server before the server's greeting leaves: Linux
 * then takes the server's socket for an interactive one and delays its
 * ACKs, and with Nagle's algorithm on (as in both tools by default) each
 * small write waits for an ACK, so the server reads many messages per
 * wake-up. --write-before-greeting sends that first message; --nodelay
 * sets TCP_NODELAY, which undoes the coalescing. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

#define MAX_EVENTS 256
#define MAX_GREETING 1024

static struct addrinfo *resolve(const struct config *cfg)
{
    struct addrinfo hints, *res;
    int err;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    err = getaddrinfo(cfg->host, cfg->port, &hints, &res);
    if (err != 0)
        die("cannot resolve %s:%s: %s", cfg->host, cfg->port,
            gai_strerror(err));
    return res;
}

/* The first message, sent the moment the connection is up; it is part of
 * the stream, so the paced writes carry on from where it ended. Returns 0
 * where the connection is not up yet (allowed only while connecting). */
static int write_early(const struct config *cfg, struct conn *c, unsigned i,
                       struct run *run, int connecting)
{
    ssize_t n = send(c->fd, cfg->message, cfg->message_len,
                     MSG_NOSIGNAL | MSG_DONTWAIT);

    if (n == -1 && connecting &&
        (errno == EAGAIN || errno == ENOTCONN || errno == EWOULDBLOCK))
        return 0;
    if (n == -1)
        die_errno("connection %u: first write, before the greeting", i);
    c->bytes += (uint64_t)n;
    c->writes++;
    count_size(&run->sizes, (uint64_t)n);
    return 1;
}

static void start_connect(const struct config *cfg, const struct addrinfo *ai,
                          struct conn *c, unsigned i, int epfd, struct run *run)
{
    struct epoll_event ev = {EPOLLOUT | EPOLLIN | EPOLLRDHUP, {.u64 = i}};
    int one = 1;

    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    if (c->fd == -1)
        die_errno("connection %u: socket", i);
    if (cfg->nodelay && setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one,
                                   sizeof(one)) == -1)
        die_errno("connection %u: setsockopt TCP_NODELAY", i);
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
        errno != EINPROGRESS)
        die_errno("connection %u: cannot connect to %s:%s", i, cfg->host,
                  cfg->port);
    /* Over loopback the handshake is done by now: write before the server
     * has accepted, as a generator that opens one connection at a time
     * would, not after the whole batch has connected. */
    if (cfg->write_early)
        c->wrote_early = write_early(cfg, c, i, run, 1);
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) == -1)
        die_errno("epoll_ctl");
}

static void finish_connect(const struct config *cfg, struct conn *c,
                           unsigned i, int epfd, double t0, struct run *run)
{
    struct epoll_event ev = {EPOLLIN | EPOLLRDHUP, {.u64 = i}};
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
        die_errno("getsockopt");
    if (err != 0) {
        errno = err;
        die_errno("connection %u: cannot connect to %s:%s", i, cfg->host,
                  cfg->port);
    }
    c->connected = 1;
    c->connect_s = monotonic_s() - t0;
    if (cfg->write_early && !c->wrote_early)
        c->wrote_early = write_early(cfg, c, i, run, 0);
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) == -1)
        die_errno("epoll_ctl");
}

static void read_greeting(struct conn *c, unsigned i, double t0)
{
    char buf[MAX_GREETING];
    ssize_t n = read(c->fd, buf, sizeof(buf));

    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n == -1)
        die_errno("connection %u: closed before the server's greeting", i);
    if (n == 0)
        die("connection %u: closed by the server before its greeting "
            "(did it refuse the client, e.g. over --max-clients?)", i);
    c->greeting_len += (size_t)n;
    if (memchr(buf, '\n', (size_t)n) != NULL) {
        c->greeted = 1;
        c->greeting_s = monotonic_s() - t0;
    } else if (c->greeting_len >= MAX_GREETING) {
        die("connection %u: no greeting line in the first %d bytes", i,
            MAX_GREETING);
    }
}

void connect_all(const struct config *cfg, struct conn *conns, int epfd,
                 struct run *run)
{
    struct addrinfo *ai = resolve(cfg);
    struct epoll_event events[MAX_EVENTS];
    double t0 = monotonic_s(), deadline = t0 + cfg->connect_timeout_s;
    unsigned greeted = 0;

    for (unsigned i = 0; i < cfg->connections; i++)
        start_connect(cfg, ai, &conns[i], i, epfd, run);
    freeaddrinfo(ai);

    while (greeted < cfg->connections) {
        double left = deadline - monotonic_s();
        int n = left > 0 ? epoll_wait(epfd, events, MAX_EVENTS,
                                      (int)(left * 1000) + 1)
                         : 0;
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        if (n == 0 && monotonic_s() >= deadline)
            die("only %u of %u clients were greeted within %g s", greeted,
                cfg->connections, cfg->connect_timeout_s);
        for (int k = 0; k < n; k++) {
            unsigned i = (unsigned)events[k].data.u64;
            struct conn *c;

            if (events[k].data.u64 == SIGNAL_TAG)
                die("interrupted while connecting: %u of %u clients greeted",
                    greeted, cfg->connections);
            c = &conns[i];
            if (!c->connected)
                finish_connect(cfg, c, i, epfd, t0, run);
            if (!c->greeted && (events[k].events & (EPOLLIN | EPOLLRDHUP |
                                                   EPOLLERR | EPOLLHUP))) {
                read_greeting(c, i, t0);
                greeted += (unsigned)c->greeted;
            }
        }
    }
    run->connect_phase_s = monotonic_s() - t0;
}
