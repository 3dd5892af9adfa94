/* One client's process: greet, then relay what the client sends to stdout
 * with one write(2) per read(2) (and, with --reply, one back to it), the
 * same system calls as every other server under test, so that differences
 * come from the concurrency model. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "papaya.h"
#include "papayachat.h"
#include "server.h"

void serve_client(int fd, struct relayed *out, int reply)
{
    char buf[READ_SIZE];
    struct relayed total = {0, 0};

    if (write_all(fd, GREETING, sizeof(GREETING) - 1) == -1)
        _exit(0); /* the client left before it was greeted */
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n == 0)
            break;
        if (n == -1) {
            if (errno == EINTR)
                continue;
            break; /* a reset connection ends the session, as EOF does */
        }
        if (relay(fd, buf, (size_t)n, reply) == -1)
            break; /* the client left before its reply */
        total.bytes += (uint64_t)n;
        total.reads++;
        /* Published after every write so that a child killed at shutdown
         * has already accounted for all it relayed. */
        __atomic_store_n(&out->bytes, total.bytes, __ATOMIC_RELAXED);
        __atomic_store_n(&out->reads, total.reads, __ATOMIC_RELAXED);
    }
    _exit(0);
}
