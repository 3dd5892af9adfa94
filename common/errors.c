/* Error exits with the program's name, in the style of TLPI's errExit(). */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "papaya.h"

const char *papaya_prog = "papaya";

/* Only the first thread to fail reports and exits: exit() run by two
 * threads at once is undefined (atexit handlers, stdio), and one message
 * names the cause. A later one waits for the process to end. */
static atomic_flag dying = ATOMIC_FLAG_INIT;

static void claim_exit(void)
{
    if (atomic_flag_test_and_set(&dying))
        for (;;)
            pause();
}

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

    claim_exit();
    va_start(ap, fmt);
    vreport(fmt, ap, saved);
    va_end(ap);
    exit(1);
}

void die_status(int status, const char *fmt, ...)
{
    va_list ap;

    claim_exit();
    va_start(ap, fmt);
    vreport(fmt, ap, 0);
    va_end(ap);
    exit(status);
}
