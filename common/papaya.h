/* Helpers shared by the papaya-bench C programs: error exits, number
 * parsing and the atomic write of small result files. */
#ifndef PAPAYA_H
#define PAPAYA_H

#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

/* Program name used as the prefix of every message; set by main(). */
extern const char *papaya_prog;

/* Print "prog: message: strerror(errno)" and exit with status 1. */
__attribute__((noreturn, format(printf, 1, 2)))
void die_errno(const char *fmt, ...);

/* Print "prog: message" and exit with the given status. */
__attribute__((noreturn, format(printf, 2, 3)))
void die_status(int status, const char *fmt, ...);

/* Usage errors exit 2, like getopt-based tools. */
#define die_usage(...) die_status(2, __VA_ARGS__)
#define die(...) die_status(1, __VA_ARGS__)

/* Parse a whole decimal number in [min, max]; "what" names the flag in the
 * error message. */
uint64_t parse_u64(const char *what, const char *text, uint64_t min,
                   uint64_t max);

/* Parse a positive decimal number with optional fraction ("2.5"). */
double parse_positive_double(const char *what, const char *text);

/* Write len bytes to path so that readers never see a partial file: write a
 * temporary file beside it, fsync, then rename over path. Exits on error. */
void write_file_atomic(const char *path, const char *data, size_t len);

/* Write all of buf to fd, retrying short writes and EINTR; -1 on error. */
int write_all(int fd, const void *buf, size_t len);

/* Write text as a JSON string (quoted, escaped); bytes that are not valid
 * UTF-8 become U+FFFD so that the file stays valid JSON. */
void json_string(FILE *out, const char *text);

/* Seconds on CLOCK_MONOTONIC. */
double monotonic_s(void);

/* signals.c (COMMON_SRCS): SIGTERM and SIGINT, blocked; either read from
 * the returned signalfd, or caught into stop_requested while ppoll() runs
 * with *unblocked, the mask from before. */
extern volatile sig_atomic_t stop_requested;
int stop_signal_fd(void);
void catch_stop_signals(sigset_t *unblocked);

#endif
