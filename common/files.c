/* Small-file output: results are written whole or not at all, so a reader
 * (or a crashed run) never leaves a half-written record behind. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "papaya.h"

int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void write_file_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    int fd;

    if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >=
        (int)sizeof(tmp))
        die("path too long: %s", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1)
        die_errno("cannot create %s", tmp);
    if (write_all(fd, data, len) == -1 || fsync(fd) == -1) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        die_errno("cannot write %s", tmp);
    }
    if (close(fd) == -1)
        die_errno("cannot close %s", tmp);
    if (rename(tmp, path) == -1) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        die_errno("cannot rename %s to %s", tmp, path);
    }
}

double monotonic_s(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die_errno("clock_gettime");
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
