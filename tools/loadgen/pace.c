/* The load phase. Every connection has its ticks: one per period (the
 * write interval times the burst), from its phase. At its tick, a
 * connection gets the bytes its token bucket has earned since the start,
 * in `burst` writes sent back to back. The server wakes once per write it
 * reads, so this schedule shapes the server's work as much as the rate
 * does: aligned phases (every connection due at once, as with one timer)
 * and random ones (independent arrivals), single writes and bursts, all
 * carry the same bytes. When the loop falls behind, a connection skips the
 * ticks it missed: writes get fewer and larger but the rate holds, because
 * what is due is computed from the start, not per tick. Each worker thread
 * runs this loop on its own share of the connections, on its own epoll and
 * timer; the ticks and the start are common to all (workers.c). */
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
/* Random phases are the same on every run: a cell can be repeated. */
#define PHASE_SEED 0x9e3779b97f4a7c15ULL

struct schedule {
    unsigned *order;      /* the share's connections, in the order due */
    unsigned count;
    unsigned pos;         /* the next connection due, in order */
    double period_s;
};

/* splitmix64: a fixed, well-mixed sequence, so phases need no libc state. */
static double unit_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0; /* [0, 1) */
}

static int by_next(const void *a, const void *b, void *conns)
{
    double x = ((struct conn *)conns)[*(const unsigned *)a].next_s;
    double y = ((struct conn *)conns)[*(const unsigned *)b].next_s;
    return (x > y) - (x < y);
}

/* First ticks: one period after the start when aligned (as a periodic
 * timer would), or anywhere in the first period when random. Drawn for
 * every connection in connection order, before the load is split among
 * the workers, so that the schedule does not depend on how many there
 * are. */
void plan(const struct config *cfg, struct conn *conns, double t0)
{
    double period_s = cfg->interval_s * cfg->burst;
    uint64_t state = PHASE_SEED;

    for (unsigned i = 0; i < cfg->connections; i++) {
        double phase = cfg->phases == PHASES_RANDOM
                           ? 1 - unit_random(&state) /* (0, 1] */
                           : 1;
        conns[i].next_s = t0 + phase * period_s;
    }
}

static struct schedule order_share(const struct config *cfg,
                                   struct conn *conns,
                                   const struct share *sh)
{
    struct schedule s = {malloc(sh->count * sizeof(unsigned)), sh->count, 0,
                         cfg->interval_s * cfg->burst};

    if (s.order == NULL)
        die_errno("malloc");
    for (unsigned k = 0; k < sh->count; k++)
        s.order[k] = sh->first + k;
    qsort_r(s.order, s.count, sizeof(unsigned), by_next, conns);
    return s;
}

static void arm_timer(int fd, double at_s)
{
    struct itimerspec its = {{0, 0}, {0, 0}};

    its.it_value.tv_sec = (time_t)at_s;
    its.it_value.tv_nsec = (long)((at_s - floor(at_s)) * 1e9);
    if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
        its.it_value.tv_nsec = 1; /* an all-zero time would disarm it */
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == -1)
        die_errno("timerfd_settime");
}

static void watch(int epfd, int fd, uint64_t tag, const char *what)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = tag}};

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl %s", what);
}

static int make_timer(int epfd)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

    if (fd == -1)
        die_errno("timerfd_create");
    watch(epfd, fd, TIMER_TAG, "timer");
    return fd;
}

/* The worker's own epoll, so that no two workers contend for one: its
 * connections (tagged with their index, as in the connect phase, and
 * watched for the server closing them), the stop signals and the stop
 * that any other worker announces. */
static int make_epoll(const struct conn *conns, const struct share *sh)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);

    if (epfd == -1)
        die_errno("epoll_create1");
    for (unsigned i = sh->first; i < sh->first + sh->count; i++) {
        struct epoll_event ev = {EPOLLIN | EPOLLRDHUP, {.u64 = i}};

        if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[i].fd, &ev) == -1)
            die_errno("connection %u: epoll_ctl", i);
    }
    watch(epfd, sh->sigfd, SIGNAL_TAG, "signalfd");
    watch(epfd, sh->stopfd, STOP_TAG, "stop eventfd");
    return epfd;
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

void count_size(struct write_sizes *w, uint64_t n)
{
    uint64_t k = n < SIZE_EXACT ? n : SIZE_EXACT + n / SIZE_EXACT - 1;

    w->counts[k < SIZE_BUCKETS ? k : SIZE_BUCKETS - 1]++;
    if (w->min == 0 || n < w->min)
        w->min = n;
    if (n > w->max)
        w->max = n;
}

/* What connection i is due at elapsed seconds, in up to `writes` writes of
 * equal size; a full socket ends the tick (the rest is due next time).
 * tick_s: when this tick was due, which is when its bytes were, unless
 * some of an earlier tick's are still owed. */
static void send_conn(const struct config *cfg, struct conn *conns,
                      unsigned i, const char *pattern, double elapsed,
                      unsigned writes, double tick_s, struct run *run)
{
    struct conn *c = &conns[i];
    uint64_t due_total = bytes_due(cfg, elapsed);

    if (c->owed_s == 0)
        c->owed_s = tick_s;

    for (unsigned left = writes; left > 0 && due_total > c->bytes; left--) {
        uint64_t due = (due_total - c->bytes + left - 1) / left;
        ssize_t n;

        if (due > WRITE_MAX)
            due = WRITE_MAX;
        n = send(c->fd, pattern + c->bytes % cfg->message_len, due,
                 MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                c->stalls++;
                return;
            }
            die_errno("connection %u: send failed after %llu bytes "
                      "(did the server close it or die?)",
                      i, (unsigned long long)c->bytes);
        }
        c->bytes += (uint64_t)n;
        c->writes++;
        count_size(&run->sizes, (uint64_t)n);
        if (cfg->latency)
            sent(c, c->bytes);
        if ((uint64_t)n < due) {
            c->stalls++;
            return;
        }
    }
    if (c->bytes >= due_total)
        c->owed_s = 0;
}

/* Every connection whose tick has come, in the order they fall due; at
 * most one tick each per pass, so a pass always ends. */
static void send_due(const struct config *cfg, struct conn *conns,
                     struct schedule *s, const char *pattern, double t0,
                     double now, struct run *run)
{
    for (unsigned k = 0; k < s->count; k++) {
        struct conn *c = &conns[s->order[s->pos]];

        if (c->next_s > now)
            return;
        send_conn(cfg, conns, s->order[s->pos], pattern, now - t0,
                  cfg->burst, c->next_s, run);
        c->next_s += s->period_s;
        if (c->next_s <= now)
            c->next_s += s->period_s * ceil((now - c->next_s) / s->period_s +
                                            1e-9);
        s->pos = (s->pos + 1) % s->count;
    }
}

/* Without --latency the server has nothing to say after its greeting:
 * any event on a connection is either stray data (dropped) or the end of
 * it (fatal). */
static void check_conn(const struct config *cfg, struct conn *conns,
                       unsigned i, struct run *run)
{
    char buf[4096];
    ssize_t n;

    if (cfg->latency) {
        replies(conns, i, &run->latency);
        return;
    }
    n = read(conns[i].fd, buf, sizeof(buf));
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

/* A signal is taken by one worker only (the others read EAGAIN), so the
 * worker that takes it tells the rest through the eventfd. */
static void announce_stop(int stopfd)
{
    uint64_t one = 1;

    if (write(stopfd, &one, sizeof(one)) == -1)
        die_errno("write stop eventfd");
}

/* The events of one wait; 1 once the load must stop. */
static int handle_events(const struct config *cfg,
                         const struct epoll_event *events, int n,
                         struct conn *conns, const struct share *sh, int tfd,
                         struct run *run)
{
    int stop = 0;

    for (int k = 0; k < n; k++) {
        uint64_t tag = events[k].data.u64;

        if (tag == TIMER_TAG) {
            drain(tfd, sizeof(uint64_t));
        } else if (tag == SIGNAL_TAG) {
            drain(sh->sigfd, sizeof(struct signalfd_siginfo));
            announce_stop(sh->stopfd);
            run->stopped_by_signal = 1;
            stop = 1;
        } else if (tag == STOP_TAG) {
            /* Left unread, so that it stays readable for every worker. */
            run->stopped_by_signal = 1;
            stop = 1;
        } else {
            check_conn(cfg, conns, (unsigned)tag, run);
        }
    }
    return stop;
}

static uint64_t awaited(const struct conn *conns, const struct share *sh)
{
    uint64_t n = 0;

    for (unsigned i = sh->first; i < sh->first + sh->count; i++)
        n += conns[i].fly_len;
    return n;
}

/* The replies still on their way when the load ends, for up to
 * cfg->drain_s; those that never come are counted, not timed. The stop
 * and the timer leave the epoll first: both stay readable. */
static void await_replies(const struct config *cfg, struct conn *conns,
                          const struct share *sh, int epfd, int tfd,
                          struct run *run)
{
    struct epoll_event events[MAX_EVENTS];
    double deadline = monotonic_s() + cfg->drain_s, left;
    int others[] = {tfd, sh->sigfd, sh->stopfd};

    for (unsigned k = 0; k < sizeof(others) / sizeof(*others); k++)
        if (epoll_ctl(epfd, EPOLL_CTL_DEL, others[k], NULL) == -1)
            die_errno("epoll_ctl del");

    while (awaited(conns, sh) > 0 && (left = deadline - monotonic_s()) > 0) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, (int)(left * 1000) + 1);

        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int k = 0; k < n; k++)
            replies(conns, (unsigned)events[k].data.u64, &run->latency);
    }
    run->unanswered = awaited(conns, sh);
}

void pace(const struct config *cfg, struct conn *conns,
          const struct share *sh, struct run *run)
{
    struct epoll_event events[MAX_EVENTS];
    char *pattern = make_pattern(cfg);
    int epfd = make_epoll(conns, sh);
    int tfd = make_timer(epfd);
    double t0 = sh->t0, end = t0 + cfg->duration_s, now;
    struct schedule s = order_share(cfg, conns, sh);

    if (cfg->latency)
        hist_init(&run->latency);
    for (;;) {
        double wake = conns[s.order[s.pos]].next_s;
        int n, last;

        if (cfg->duration_s > 0 && end < wake)
            wake = end;
        arm_timer(tfd, wake);
        n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n == -1 && errno != EINTR)
            die_errno("epoll_wait");
        last = handle_events(cfg, events, n, conns, sh, tfd, run);
        now = monotonic_s();
        if (cfg->duration_s > 0 && now >= end) {
            now = end;
            last = 1;
        }
        if (last)
            break;
        send_due(cfg, conns, &s, pattern, t0, now, run);
    }
    /* The end: whatever is due goes now, whatever the schedule. */
    for (unsigned i = sh->first; i < sh->first + sh->count; i++)
        send_conn(cfg, conns, i, pattern, now - t0, 1, now, run);
    run->load_s = now - t0;
    if (cfg->latency)
        await_replies(cfg, conns, sh, epfd, tfd, run);
    free(pattern);
    free(s.order);
    if (close(tfd) == -1)
        die_errno("close timer");
    if (close(epfd) == -1)
        die_errno("close epoll");
}
