/* The load phase on worker threads. One thread cannot keep a thousand
 * connections on a 1 ms cadence, so N threads share them, each with its
 * own epoll and timer and pinned to its own CPU, so that they neither
 * contend for one event queue nor migrate onto each other's CPU. The
 * schedule stays the one a single thread would follow: the first ticks
 * are planned once, from one t0, before any worker starts, and what is due
 * is computed from that t0. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

struct worker {
    pthread_t thread;
    unsigned index;
    int cpu;
    const struct config *cfg;
    struct conn *conns;
    struct share share;
    struct run run;       /* this worker's own, merged once it is joined */
};

static cpu_set_t affinity(void)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == -1)
        die_errno("sched_getaffinity");
    return set;
}

unsigned affinity_cpus(void)
{
    cpu_set_t set = affinity();

    return (unsigned)CPU_COUNT(&set);
}

/* Worker k runs on the k-th CPU of the mask, round-robin when there are
 * more workers than CPUs, so that taskset still decides where loadgen
 * runs. */
static int nth_cpu(const cpu_set_t *set, unsigned k)
{
    unsigned left = k % (unsigned)CPU_COUNT(set);

    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, set) && left-- == 0)
            return cpu;
    die("worker %u: no CPU in the affinity mask", k);
}

/* pthread functions return their error instead of setting errno. */
static void check_pthread(int err, const char *what, unsigned k)
{
    if (err != 0) {
        errno = err;
        die_errno("worker %u: %s", k, what);
    }
}

static void pin(const struct worker *w)
{
    cpu_set_t one;
    char name[16];

    CPU_ZERO(&one);
    CPU_SET(w->cpu, &one);
    check_pthread(pthread_setaffinity_np(pthread_self(), sizeof(one), &one),
                  "pthread_setaffinity_np", w->index);
    /* Named, so that per-thread figures (top -H, /proc) can be told apart. */
    snprintf(name, sizeof(name), "loadgen/%u", w->index);
    check_pthread(pthread_setname_np(pthread_self(), name),
                  "pthread_setname_np", w->index);
}

static void *work(void *arg)
{
    struct worker *w = arg;

    pin(w);
    pace(w->cfg, w->conns, &w->share, &w->run);
    return NULL;
}

/* Contiguous shares, as equal as they can be: the first
 * connections % threads workers take one more. */
static void split(struct worker *workers, const struct config *cfg,
                  struct conn *conns, const struct share *common)
{
    const cpu_set_t cpus = affinity();
    unsigned n = cfg->threads, first = 0;

    for (unsigned k = 0; k < n; k++) {
        struct worker *w = &workers[k];

        w->index = k;
        w->cpu = nth_cpu(&cpus, k);
        w->cfg = cfg;
        w->conns = conns;
        w->share = *common;
        w->share.first = first;
        w->share.count = cfg->connections / n + (k < cfg->connections % n);
        first += w->share.count;
    }
}

static void merge(struct run *into, struct run *from)
{
    struct write_sizes *a = &into->sizes;
    const struct write_sizes *b = &from->sizes;

    /* Every worker ends at the same t0 + duration, or at the signal: the
     * last one to stop ends the load. */
    if (from->load_s > into->load_s)
        into->load_s = from->load_s;
    into->stopped_by_signal |= from->stopped_by_signal;
    for (unsigned k = 0; k < SIZE_BUCKETS; k++)
        a->counts[k] += b->counts[k];
    if (b->min != 0 && (a->min == 0 || b->min < a->min)) /* 0: no writes */
        a->min = b->min;
    if (b->max > a->max)
        a->max = b->max;
    into->unanswered += from->unanswered;
    if (from->latency.counts != NULL) {
        hist_merge(&into->latency, &from->latency);
        hist_free(&from->latency);
    }
}

static int make_stop_fd(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

    if (fd == -1)
        die_errno("eventfd");
    return fd;
}

/* The signals must already be blocked (stop_signal_fd), so that every
 * worker inherits the mask and a stop signal waits in sigfd for whichever
 * worker reads it. */
void run_workers(const struct config *cfg, struct conn *conns, int sigfd,
                 struct run *run)
{
    struct worker *workers = calloc(cfg->threads, sizeof(*workers));
    struct share common = {0, 0, 0, sigfd, make_stop_fd()};

    if (workers == NULL)
        die_errno("calloc");
    common.t0 = monotonic_s();
    plan(cfg, conns, common.t0);
    split(workers, cfg, conns, &common);
    for (unsigned k = 0; k < cfg->threads; k++)
        check_pthread(pthread_create(&workers[k].thread, NULL, work,
                                     &workers[k]),
                      "pthread_create", k);
    for (unsigned k = 0; k < cfg->threads; k++) {
        check_pthread(pthread_join(workers[k].thread, NULL), "pthread_join",
                      k);
        merge(run, &workers[k].run);
    }
    if (close(common.stopfd) == -1)
        die_errno("close stop eventfd");
    free(workers);
}
