/* The JSON record that rusage writes for one finished command. */
#ifndef RUSAGE_REPORT_H
#define RUSAGE_REPORT_H

#include <stddef.h>
#include <sys/resource.h>

/* Format the record as one JSON object followed by a newline. argv is the
 * command (NULL-terminated), status and ru come from wait4(), wall_s is the
 * elapsed monotonic time. Returns a malloc'd buffer and its length in *len;
 * exits on error. */
char *format_report(char *const argv[], int status, const struct rusage *ru,
                    double wall_s, size_t *len);

#endif
