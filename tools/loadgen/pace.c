/* The load phase. Every tick of a timer, each connection gets the bytes its
 * token bucket has earned since the start, in one write. The server wakes
 * once per write it reads, so the tick (the write cadence) shapes the
 * server's work as much as the rate does. When a pass over all connections
 * takes longer than a tick, writes get fewer and larger but the rate holds,
 * because what is due is computed from the start, not per tick. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

#define MAX_EVENTS 256
#define WRITE_MAX (64 * 1024)

static int start_timer(double interval_s, int epfd)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = TIMER_TAG}};
    struct itimerspec its;
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

    if (fd == -1)
        die_errno("timerfd_create");
    its.it_interval.tv_sec = (time_t)interval_s;
    its.it_interval.tv_nsec =
        (long)((interval_s - floor(interval_s)) * 1e9);
    its.it_value = its.it_interval;
    if (timerfd_settime(fd, 0, &its, NULL) == -1)
        die_errno("timerfd_settime");
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl");
    return fd;
}

/* The message repeated, so that any write starts at the right offset of
 * the stream and still finds WRITE_MAX bytes in one piece. */
static char *make_pattern(const struct config *cfg)
{
    size_t len = WRITE_MAX + cfg->message_len;
    char *p = malloc(len);

    if (p == NULL)
        die_errno("malloc");
    for (size_t off = 0; off < len; off += cfg->message_len) {
        size_t n = cfg->message_len;
        if (n > len - off)
            n = len - off;
        memcpy(p + off, cfg->message, n);
    }
    return p;
}

static void send_due(const struct config *cfg, struct conn *conns,
                     const char *pattern, double elapsed)
{
    uint64_t due_total = bytes_due(cfg, elapsed);

    for (unsigned i = 0; i < cfg->connections; i++) {
        struct conn *c = &conns[i];
        uint64_t due = due_total > c->bytes ? due_total - c->bytes : 0;
        ssize_t n;

        if (due == 0)
            continue;
        if (due > WRITE_MAX)
            due = WRITE_MAX;
        n = send(c->fd, pattern + c->bytes % cfg->message_len, due,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                c->stalls++;
                continue;
            }
            die_errno("connection %u: send failed after %llu bytes "
                      "(did the server close it or die?)",
                      i, (unsigned long long)c->bytes);
        }
        c->bytes += (uint64_t)n;
        c->writes++;
        if ((uint64_t)n < due)
            c->stalls++;
    }
}

/* The server has nothing to say after its greeting: any event on a
 * connection is either stray data (dropped) or the end of it (fatal). */
static void check_conn(struct conn *conns, unsigned i)
{
    char buf[4096];
    ssize_t n = read(conns[i].fd, buf, sizeof(buf));

    if (n == 0)
        die("connection %u: closed by the server after %llu bytes", i,
            (unsigned long long)conns[i].bytes);
    if (n == -1 && errno != EAGAIN && errno != EINTR)
        die_errno("connection %u: failed after %llu bytes", i,
                  (unsigned long long)conns[i].bytes);
}

static void drain(int fd, size_t size)
{
    char buf[sizeof(struct signalfd_siginfo)];

    if (read(fd, buf, size) == -1 && errno != EAGAIN)
        die_errno("read");
}

void pace(const struct config *cfg, struct conn *conns, int epfd, int sigfd,
          struct run *run)
{
    struct epoll_event events[MAX_EVENTS];
    char *pattern = make_pattern(cfg);
    int tfd = start_timer(cfg->interval_s, epfd);
    double t0 = monotonic_s(), elapsed = 0;
    int last = 0;

    while (!last) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);

        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int k = 0; k < n; k++) {
            uint64_t tag = events[k].data.u64;

            if (tag == TIMER_TAG) {
                drain(tfd, sizeof(uint64_t));
            } else if (tag == SIGNAL_TAG) {
                drain(sigfd, sizeof(struct signalfd_siginfo));
                run->stopped_by_signal = 1;
                last = 1;
            } else {
                check_conn(conns, (unsigned)tag);
            }
        }
        elapsed = monotonic_s() - t0;
        if (cfg->duration_s > 0 && elapsed >= cfg->duration_s) {
            elapsed = cfg->duration_s;
            last = 1;
        }
        send_due(cfg, conns, pattern, elapsed);
    }
    run->load_s = elapsed;
    free(pattern);
    if (close(tfd) == -1)
        die_errno("close timer");
}
