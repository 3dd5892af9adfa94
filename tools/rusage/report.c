/* Formatting of the rusage JSON record.
 *
 * The record is built in memory (open_memstream) and handed back whole, so
 * the caller can write it with one atomic rename: a reader never sees a
 * record that stops half-way. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "papaya.h"
#include "report.h"

/* Print a timeval exactly, rather than through a double, so that the
 * microseconds the kernel reported are the microseconds in the file. */
static void put_seconds(FILE *out, const char *key, const struct timeval *tv)
{
    fprintf(out, ", \"%s\": %lld.%06ld", key, (long long)tv->tv_sec,
            (long)tv->tv_usec);
}

static void put_long(FILE *out, const char *key, long value)
{
    fprintf(out, ", \"%s\": %ld", key, value);
}

char *format_report(char *const argv[], int status, const struct rusage *ru,
                    double wall_s, size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);

    if (out == NULL)
        die_errno("open_memstream");

    fputs("{\"command\": [", out);
    for (size_t i = 0; argv[i] != NULL; i++) {
        if (i > 0)
            fputs(", ", out);
        json_string(out, argv[i]);
    }
    fputc(']', out);

    put_seconds(out, "utime_s", &ru->ru_utime);
    put_seconds(out, "stime_s", &ru->ru_stime);
    /* Linux reports ru_maxrss in KiB; for wait4() it is the peak of the
     * largest single process in the tree, not a sum. */
    put_long(out, "maxrss_kib", ru->ru_maxrss);
    put_long(out, "minflt", ru->ru_minflt);
    put_long(out, "majflt", ru->ru_majflt);
    put_long(out, "nvcsw", ru->ru_nvcsw);
    put_long(out, "nivcsw", ru->ru_nivcsw);
    put_long(out, "inblock", ru->ru_inblock);
    put_long(out, "oublock", ru->ru_oublock);
    fprintf(out, ", \"wall_s\": %.6f", wall_s);

    if (WIFEXITED(status))
        fprintf(out, ", \"exit_code\": %d, \"signal\": null",
                WEXITSTATUS(status));
    else
        fprintf(out, ", \"exit_code\": null, \"signal\": %d",
                WTERMSIG(status));
    fprintf(out, ", \"core_dumped\": %s}\n",
            WIFSIGNALED(status) && WCOREDUMP(status) ? "true" : "false");

    /* Memory-stream writes fail only when memory runs out; checking once at
     * the end catches any of them, since the error flag is sticky. */
    if (ferror(out)) {
        fclose(out);
        free(buf);
        die("cannot format the report: out of memory");
    }
    if (fclose(out) == EOF)
        die_errno("cannot format the report");
    return buf;
}
