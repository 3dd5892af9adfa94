/* The stats file: what was asked, what was sent, and how every connection
 * fared, so that a run whose load missed its target can be told apart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* "name":{"min":..,"median":..,"max":..,"mean":..} over n values. */
static void summary(FILE *f, const char *name, double *v, unsigned n)
{
    double sum = 0;

    qsort(v, n, sizeof(*v), cmp_double);
    for (unsigned i = 0; i < n; i++)
        sum += v[i];
    fprintf(f,
            "\"%s\":{\"min\":%.6f,\"median\":%.6f,\"max\":%.6f,"
            "\"mean\":%.6f}",
            name, v[0],
            n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1],
            sum / n);
}

/* "write_bytes":{"min":..,"max":..,"mean":..,"counts":[[size,n],..]}:
 * the sizes used, each with its count; above SIZE_EXACT a size stands for
 * its bucket (size .. size + SIZE_EXACT - 1). */
static void write_sizes(FILE *f, const struct write_sizes *w, double mean)
{
    int first = 1;

    fprintf(f,
            "\"write_bytes\":{\"min\":%llu,\"max\":%llu,\"mean\":%.3f,"
            "\"counts\":[",
            (unsigned long long)w->min, (unsigned long long)w->max, mean);
    for (unsigned k = 0; k < SIZE_BUCKETS; k++) {
        unsigned size = k < SIZE_EXACT ? k : (k - SIZE_EXACT + 1) * SIZE_EXACT;

        if (w->counts[k] == 0)
            continue;
        fprintf(f, "%s[%u,%llu]", first ? "" : ",", size,
                (unsigned long long)w->counts[k]);
        first = 0;
    }
    fprintf(f, "]},");
}

/* "latency":{"replies":..,"unanswered":..,"min_us":..,..,"histogram_ns":
 * [[highest value,count],..]}, or null without --latency. */
static void latency(FILE *f, const struct config *cfg, const struct run *run)
{
    static const struct {
        const char *name;
        double q;
    } at[] = {{"p50_us", 0.5}, {"p90_us", 0.9}, {"p99_us", 0.99},
              {"p999_us", 0.999}};
    const struct histogram *h = &run->latency;

    fprintf(f, "\"latency\":");
    if (!cfg->latency) {
        fprintf(f, "null,");
        return;
    }
    fprintf(f, "{\"replies\":%llu,\"unanswered\":%llu,\"min_us\":%.3f,"
               "\"mean_us\":%.3f,",
            (unsigned long long)h->count, (unsigned long long)run->unanswered,
            h->min_ns / 1e3, h->count ? h->sum_ns / h->count / 1e3 : 0.0);
    for (unsigned k = 0; k < sizeof(at) / sizeof(*at); k++)
        fprintf(f, "\"%s\":%.3f,", at[k].name,
                hist_value_at(h, at[k].q) / 1e3);
    fprintf(f, "\"max_us\":%.3f,\"histogram_ns\":[", h->max_ns / 1e3);
    hist_buckets(f, h);
    fprintf(f, "]},");
}

static void write_stats(FILE *f, const struct config *cfg,
                        const struct conn *conns, const struct run *run)
{
    unsigned n = cfg->connections;
    double target = target_bytes_per_s(cfg);
    /* A run stopped at once has sent nothing: its rates are 0, not NaN. */
    double span = run->load_s > 1e-9 ? run->load_s : 1e-9;
    double *v = malloc(n * sizeof(*v));
    uint64_t bytes = 0, writes = 0, stalls = 0;

    if (v == NULL)
        die_errno("malloc");
    for (unsigned i = 0; i < n; i++) {
        bytes += conns[i].bytes;
        writes += conns[i].writes;
        stalls += conns[i].stalls;
    }
    fprintf(f, "{\"host\":");
    json_string(f, cfg->host);
    fprintf(f, ",\"port\":%s,\"connections\":%u,\"rate\":", cfg->port, n);
    json_string(f, cfg->rate.text);
    fprintf(f, ",\"message\":");
    json_string(f, cfg->message);
    fprintf(f,
            ",\"message_bytes\":%zu,\"target_bytes_per_s\":%.3f,"
            "\"write_interval_s\":%.6f,\"burst\":%u,\"phases\":\"%s\","
            "\"nodelay\":%s,\"write_before_greeting\":%s,"
            "\"threads\":%u,\"duration_s\":%.6f,"
            "\"load_s\":%.6f,\"stopped_by_signal\":%s,"
            "\"connect_phase_s\":%.6f,",
            cfg->message_len, target, cfg->interval_s, cfg->burst,
            phases_name(cfg->phases), cfg->nodelay ? "true" : "false",
            cfg->write_early ? "true" : "false", cfg->threads, cfg->duration_s,
            run->load_s, run->stopped_by_signal ? "true" : "false",
            run->connect_phase_s);
    fprintf(f,
            "\"totals\":{\"bytes\":%llu,\"writes\":%llu,\"stalls\":%llu,"
            "\"bytes_per_s\":%.3f,\"writes_per_s\":%.3f},",
            (unsigned long long)bytes, (unsigned long long)writes,
            (unsigned long long)stalls, bytes / span,
            writes / span);
    write_sizes(f, &run->sizes, writes ? (double)bytes / writes : 0);
    latency(f, cfg, run);
    for (unsigned i = 0; i < n; i++)
        v[i] = conns[i].bytes / (target * span);
    summary(f, "achieved_ratio", v, n);
    for (unsigned i = 0; i < n; i++)
        v[i] = conns[i].writes / span;
    fputc(',', f);
    summary(f, "writes_per_s", v, n);
    for (unsigned i = 0; i < n; i++)
        v[i] = conns[i].connect_s;
    fputc(',', f);
    summary(f, "connect_s", v, n);
    for (unsigned i = 0; i < n; i++)
        v[i] = conns[i].greeting_s;
    fputc(',', f);
    summary(f, "greeting_s", v, n);
    fprintf(f, ",\"per_connection\":[");
    for (unsigned i = 0; i < n; i++)
        fprintf(f,
                "%s{\"bytes\":%llu,\"writes\":%llu,\"stalls\":%llu,"
                "\"connect_s\":%.6f,\"greeting_s\":%.6f}",
                i ? "," : "", (unsigned long long)conns[i].bytes,
                (unsigned long long)conns[i].writes,
                (unsigned long long)conns[i].stalls, conns[i].connect_s,
                conns[i].greeting_s);
    fprintf(f, "]}\n");
    free(v);
}

void report(const struct config *cfg, const struct conn *conns,
            const struct run *run)
{
    char *buf;
    size_t len;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL)
        die_errno("open_memstream");
    write_stats(f, cfg, conns, run);
    if (fclose(f) == EOF)
        die_errno("fclose");
    if (cfg->out != NULL)
        write_file_atomic(cfg->out, buf, len);
    else if (write_all(STDOUT_FILENO, buf, len) == -1)
        die_errno("write to stdout");
    free(buf);
}
