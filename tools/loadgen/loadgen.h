/* loadgen: N TCP clients that wait for the server's greeting, then each
 * send at a fixed rate, paced by a per-connection token bucket, on a write
 * schedule (cadence, phases, bursts) of its own. */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* epoll tags of the descriptors that are not connections. */
#define SIGNAL_TAG UINT64_MAX
#define TIMER_TAG (UINT64_MAX - 1)
#define STOP_TAG (UINT64_MAX - 2)

struct rate {
    const char *text;     /* as given, for the report */
    double bits_per_s;    /* > 0 for a bandwidth target */
    double msgs_per_s;    /* > 0 for a message-rate target */
};

/* A write awaiting its reply (--latency): it ends at stream offset `end`,
 * and the oldest byte it carries was due at `due_s`. */
struct inflight {
    uint64_t end;
    double due_s;
};

struct conn {
    int fd;
    double connect_s;     /* from the start of connect() to connected */
    double greeting_s;    /* from the start of connect() to the greeting */
    size_t greeting_len;  /* bytes of the greeting read so far */
    int connected;
    int greeted;
    int wrote_early;      /* --write-before-greeting: the first message sent */
    uint64_t bytes;
    uint64_t writes;
    uint64_t stalls;      /* writes refused because the socket was full */
    double next_s;        /* monotonic time of the next scheduled tick */
    /* --latency: when the oldest byte due but not yet sent was due (0:
     * none owed), the writes awaiting replies (a ring), and the bytes
     * replied so far. */
    double owed_s;
    struct inflight *fly;
    unsigned fly_head, fly_len, fly_cap;
    uint64_t replied;
};

/* When the connections' ticks fall: all at once, or each at a fixed random
 * offset within the period (independent arrivals). */
enum phases { PHASES_ALIGNED, PHASES_RANDOM };

/* Sizes of the writes made, as counts per size: exact below SIZE_EXACT
 * bytes (where a load's writes are), in SIZE_EXACT-byte buckets above, so
 * the distribution costs the same whatever the number of writes. */
#define SIZE_EXACT 4096
#define SIZE_BUCKETS (SIZE_EXACT + 64)
struct write_sizes {
    uint64_t min, max;
    uint64_t counts[SIZE_BUCKETS];
};

/* Latencies in ns, HdrHistogram's log-linear layout (histogram.c): exact
 * below HIST_EXACT, HIST_SUB buckets per power of two above it, up to
 * 2^HIST_TOP_MAGNITUDE ns (about 36 min; larger values land in the last
 * bucket). */
#define HIST_SUB 1024
#define HIST_EXACT (2 * HIST_SUB)
#define HIST_TOP_MAGNITUDE 41
#define HIST_BUCKETS (HIST_EXACT + (HIST_TOP_MAGNITUDE - 11) * HIST_SUB)
struct histogram {
    uint64_t count, min_ns, max_ns;
    double sum_ns;
    uint64_t *counts;     /* HIST_BUCKETS */
};

struct config {
    const char *host;
    const char *port;
    unsigned connections;
    struct rate rate;
    const char *message;
    size_t message_len;
    double duration_s;    /* 0 = until SIGTERM or SIGINT */
    double interval_s;    /* the finest write cadence */
    unsigned burst;       /* writes sent back to back per tick */
    enum phases phases;
    unsigned threads;     /* worker threads; 0 until main() settles it */
    double connect_timeout_s;
    const char *ready_file;
    const char *out;
    int latency;          /* time each write's reply (the server echoes) */
    double drain_s;       /* at the end, how long to wait for late replies */
    int nodelay;          /* TCP_NODELAY: Nagle's algorithm off */
    int write_early;      /* one message as soon as connected, greeting or not */
};

struct run {
    double load_s;        /* length of the paced phase */
    double connect_phase_s;
    int stopped_by_signal;
    struct write_sizes sizes;
    struct histogram latency;   /* counts allocated only with --latency */
    uint64_t unanswered;        /* writes whose reply never came */
};

/* One worker's part of the load: connections first .. first + count - 1,
 * paced on the schedule every worker shares (the same t0). */
struct share {
    unsigned first, count;
    double t0;
    int sigfd;            /* SIGTERM and SIGINT, read by whichever worker */
    int stopfd;           /* eventfd, readable once any worker saw a stop */
};

/* rate.c */
void parse_rate(const char *text, struct rate *r);
double parse_interval(const char *text);
enum phases parse_phases(const char *text);
const char *phases_name(enum phases p);
/* Bytes due on one connection after elapsed seconds of pacing. */
uint64_t bytes_due(const struct config *cfg, double elapsed);
double target_bytes_per_s(const struct config *cfg);

/* connect.c: open every connection and wait for every greeting; exits
 * with a message naming the connection on any failure. With write_early,
 * each connection's first message goes out as soon as it is connected. */
void connect_all(const struct config *cfg, struct conn *conns, int epfd,
                 struct run *run);

/* pace.c: every connection's first tick, from t0; then one worker's
 * loop, sending on its share until the duration ends or a stop comes. */
void plan(const struct config *cfg, struct conn *conns, double t0);
void count_size(struct write_sizes *w, uint64_t n);
void pace(const struct config *cfg, struct conn *conns,
          const struct share *share, struct run *run);

/* workers.c: the number of CPUs this process may run on; and the load
 * phase, run by cfg->threads pinned workers and merged into *run. */
unsigned affinity_cpus(void);
void run_workers(const struct config *cfg, struct conn *conns, int sigfd,
                 struct run *run);

/* histogram.c */
void hist_init(struct histogram *h);
void hist_free(struct histogram *h);
void hist_record(struct histogram *h, uint64_t ns);
void hist_merge(struct histogram *into, const struct histogram *from);
uint64_t hist_value_at(const struct histogram *h, double q);
void hist_buckets(FILE *f, const struct histogram *h);

/* latency.c (--latency): a write sent, and the replies read on connection
 * i, recorded in h. */
void sent(struct conn *c, uint64_t end);
void replies(struct conn *conns, unsigned i, struct histogram *h);

/* report.c: the stats as JSON, to cfg->out or stdout. */
void report(const struct config *cfg, const struct conn *conns,
            const struct run *run);

#endif
