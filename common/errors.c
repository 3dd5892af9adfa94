/* Error exits with the program's name, in the style of TLPI's errExit(). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "papaya.h"

const char *papaya_prog = "papaya";

static void vreport(const char *fmt, va_list ap, int errnum)
{
    fprintf(stderr, "%s: ", papaya_prog);
    vfprintf(stderr, fmt, ap);
    if (errnum != 0)
        fprintf(stderr, ": %s", strerror(errnum));
    fputc('\n', stderr);
}

void die_errno(const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap, saved);
    va_end(ap);
    exit(1);
}

void die_status(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(fmt, ap, 0);
    va_end(ap);
    exit(status);
}
