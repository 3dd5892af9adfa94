/* Strict number parsing for command-line flags: the whole string must be a
 * number in range, otherwise the flag is named in a usage error. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "papaya.h"

uint64_t parse_u64(const char *what, const char *text, uint64_t min,
                   uint64_t max)
{
    char *end;
    unsigned long long value;

    if (text[0] < '0' || text[0] > '9')
        die_usage("%s: '%s' is not a whole number", what, text);
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0')
        die_usage("%s: '%s' is not a whole number", what, text);
    if (value < min || value > max)
        die_usage("%s: %llu is outside %llu..%llu", what, value,
                  (unsigned long long)min, (unsigned long long)max);
    return value;
}

double parse_positive_double(const char *what, const char *text)
{
    char *end;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value) ||
        value <= 0)
        die_usage("%s: '%s' is not a positive number", what, text);
    return value;
}
