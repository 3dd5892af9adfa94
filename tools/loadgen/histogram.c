/* Latency histogram in HdrHistogram's log-linear layout, 3 significant
 * digits: values in ns, exact below HIST_EXACT, then HIST_SUB buckets per
 * power of two, so every bucket is narrower than 1/1024 of its value and
 * recording is a few instructions, whatever the number of replies.
 * Debian packages no C HdrHistogram (only its Go and Java ports), so this
 * is the layout without the library. */
#include <math.h>
#include <stdlib.h>

#include "loadgen.h"
#include "papaya.h"

void hist_init(struct histogram *h)
{
    *h = (struct histogram){0};
    h->counts = calloc(HIST_BUCKETS, sizeof(*h->counts));
    if (h->counts == NULL)
        die_errno("calloc histogram");
}

void hist_free(struct histogram *h)
{
    free(h->counts);
    h->counts = NULL;
}

static unsigned bucket(uint64_t ns)
{
    unsigned magnitude, shift;

    if (ns < HIST_EXACT)
        return (unsigned)ns;
    magnitude = 63 - (unsigned)__builtin_clzll(ns); /* 2^magnitude <= ns */
    if (magnitude >= HIST_TOP_MAGNITUDE)
        return HIST_BUCKETS - 1;
    shift = magnitude - 10; /* ns >> shift is in [HIST_SUB, 2 * HIST_SUB) */
    return HIST_EXACT + (magnitude - 11) * HIST_SUB +
           (unsigned)((ns >> shift) - HIST_SUB);
}

/* The highest value that falls in bucket k, as HdrHistogram reports a
 * percentile: never below the values it stands for. */
static uint64_t bucket_high(unsigned k)
{
    unsigned magnitude, shift;

    if (k < HIST_EXACT)
        return k;
    magnitude = 11 + (k - HIST_EXACT) / HIST_SUB;
    shift = magnitude - 10;
    return ((uint64_t)(HIST_SUB + (k - HIST_EXACT) % HIST_SUB) << shift) +
           ((uint64_t)1 << shift) - 1;
}

void hist_record(struct histogram *h, uint64_t ns)
{
    h->counts[bucket(ns)]++;
    if (h->count == 0 || ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
    h->count++;
    h->sum_ns += (double)ns;
}

void hist_merge(struct histogram *into, const struct histogram *from)
{
    if (from->count == 0)
        return;
    for (unsigned k = 0; k < HIST_BUCKETS; k++)
        into->counts[k] += from->counts[k];
    if (into->count == 0 || from->min_ns < into->min_ns)
        into->min_ns = from->min_ns;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
    into->count += from->count;
    into->sum_ns += from->sum_ns;
}

/* The value at quantile q (0 < q <= 1): the bucket that holds the
 * ceil(q * count)-th smallest value, capped by the largest value seen. */
uint64_t hist_value_at(const struct histogram *h, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)h->count), seen = 0;

    if (h->count == 0)
        return 0;
    if (rank < 1)
        rank = 1;
    for (unsigned k = 0; k < HIST_BUCKETS; k++) {
        seen += h->counts[k];
        if (seen >= rank) {
            uint64_t high = bucket_high(k);
            return high < h->max_ns ? high : h->max_ns;
        }
    }
    return h->max_ns;
}

/* Each non-empty bucket as [highest value, count], for a reader to
 * recompute any percentile or merge runs. */
void hist_buckets(FILE *f, const struct histogram *h)
{
    int first = 1;

    for (unsigned k = 0; k < HIST_BUCKETS; k++) {
        if (h->counts[k] == 0)
            continue;
        fprintf(f, "%s[%llu,%llu]", first ? "" : ",",
                (unsigned long long)bucket_high(k),
                (unsigned long long)h->counts[k]);
        first = 0;
    }
}
