/* Load settings as text: targets ("1Mbps", SI bits per second, or
 * "100msg/s"), write intervals and the phases of the connections. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "loadgen.h"
#include "papaya.h"

struct unit {
    const char *suffix;
    double scale;
    int messages;
};

static const struct unit rate_units[] = {
    {"bps", 1, 0}, {"kbps", 1e3, 0}, {"Mbps", 1e6, 0}, {"Gbps", 1e9, 0},
    {"msg/s", 1, 1}, {NULL, 0, 0}};

static const struct unit time_units[] = {
    {"us", 1e-6, 0}, {"ms", 1e-3, 0}, {"s", 1, 0}, {NULL, 0, 0}};

/* Split "12.5Mbps" into a positive number and a known unit. */
static const struct unit *number_with_unit(const char *what, const char *text,
                                           const struct unit *units,
                                           double *value)
{
    char *end;

    *value = strtod(text, &end);
    if (end == text || !isfinite(*value) || *value <= 0)
        goto bad;
    for (const struct unit *u = units; u->suffix != NULL; u++)
        if (strcasecmp(end, u->suffix) == 0)
            return u;
bad:
    die_usage("%s: '%s' is not a positive number with a unit", what, text);
}

void parse_rate(const char *text, struct rate *r)
{
    double v;
    const struct unit *u = number_with_unit(
        "--rate (e.g. 1Mbps, 500kbps, 100msg/s)", text, rate_units, &v);

    r->text = text;
    r->bits_per_s = u->messages ? 0 : v * u->scale;
    r->msgs_per_s = u->messages ? v : 0;
}

double parse_interval(const char *text)
{
    double v;
    const struct unit *u = number_with_unit(
        "--write-interval (e.g. 1100us, 1ms)", text, time_units, &v);

    return v * u->scale;
}

uint64_t bytes_due(const struct config *cfg, double elapsed)
{
    if (cfg->rate.msgs_per_s > 0)
        return (uint64_t)floor(cfg->rate.msgs_per_s * elapsed) *
               cfg->message_len;
    return (uint64_t)floor(cfg->rate.bits_per_s / 8 * elapsed);
}

double target_bytes_per_s(const struct config *cfg)
{
    if (cfg->rate.msgs_per_s > 0)
        return cfg->rate.msgs_per_s * (double)cfg->message_len;
    return cfg->rate.bits_per_s / 8;
}

static const char *const phase_names[] = {
    [PHASES_ALIGNED] = "aligned", [PHASES_RANDOM] = "random"};

enum phases parse_phases(const char *text)
{
    for (size_t p = 0; p < sizeof(phase_names) / sizeof(*phase_names); p++)
        if (strcmp(text, phase_names[p]) == 0)
            return (enum phases)p;
    die_usage("--phases: '%s' is not aligned or random", text);
}

const char *phases_name(enum phases p)
{
    return phase_names[p];
}
