/* Latency mode (--latency): the server echoes what it reads, and each
 * write is timed until the last of its bytes has come back. The clock
 * starts when the write's oldest byte was due on the schedule, not when
 * the loop got round to sending it, so a late send counts its lateness,
 * as wrk2 times requests (no coordinated omission). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "loadgen.h"
#include "papaya.h"

#define REPLY_READ (64 * 1024)
/* Writes one connection may have awaiting replies: far beyond what a
 * server that replies lets pile up, and a bound on loadgen's memory when
 * the server does not reply at all. */
#define FLY_MAX (64 * 1024)

/* The ring of writes awaiting replies, twice as large, in order. */
static void grow(struct conn *c)
{
    unsigned cap = c->fly_cap ? 2 * c->fly_cap : 64;
    struct inflight *fly = malloc(cap * sizeof(*fly));

    if (fly == NULL)
        die_errno("malloc");
    for (unsigned k = 0; k < c->fly_len; k++)
        fly[k] = c->fly[(c->fly_head + k) % c->fly_cap];
    free(c->fly);
    c->fly = fly;
    c->fly_head = 0;
    c->fly_cap = cap;
}

void sent(struct conn *c, uint64_t end)
{
    if (c->fly_len == FLY_MAX)
        die("a connection has %u writes without a reply: does the server "
            "reply (its --reply)?", FLY_MAX);
    if (c->fly_len == c->fly_cap)
        grow(c);
    c->fly[(c->fly_head + c->fly_len) % c->fly_cap] =
        (struct inflight){end, c->owed_s};
    c->fly_len++;
}

void replies(struct conn *conns, unsigned i, struct histogram *h)
{
    struct conn *c = &conns[i];
    char buf[REPLY_READ];
    ssize_t n = read(c->fd, buf, sizeof(buf));
    double now;

    if (n == 0)
        die("connection %u: closed by the server after %llu bytes", i,
            (unsigned long long)c->bytes);
    if (n == -1) {
        if (errno == EAGAIN || errno == EINTR)
            return;
        die_errno("connection %u: failed after %llu bytes", i,
                  (unsigned long long)c->bytes);
    }
    c->replied += (uint64_t)n;
    if (c->replied > c->bytes)
        die("connection %u: the server sent back %llu bytes, more than the "
            "%llu sent: is it a server under the contract, with --reply?",
            i, (unsigned long long)c->replied, (unsigned long long)c->bytes);
    now = monotonic_s();
    while (c->fly_len > 0 && c->fly[c->fly_head].end <= c->replied) {
        double wait_s = now - c->fly[c->fly_head].due_s;

        hist_record(h, wait_s > 0 ? (uint64_t)(wait_s * 1e9) : 0);
        c->fly_head = (c->fly_head + 1) % c->fly_cap;
        c->fly_len--;
    }
}
