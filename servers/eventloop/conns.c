/* The clients of the event loop. Level-triggered epoll: one read(2) per
 * readiness, so that data still in the socket is reported again and every
 * read is relayed with one write(2) to stdout, as in every other server.
 * With --reply each read is also written back; a reply the socket does not
 * take whole waits in the slot, and its client is not read again until the
 * rest has gone: what a blocking write does, without stopping the others. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eventloop.h"
#include "papaya.h"

struct pending {
    char buf[READ_SIZE];
    size_t off, len;
};

struct conns {
    unsigned max, live;
    int *fd; /* per slot; -1 = free */
    int epfd;
    struct pending *pending; /* per slot, with --reply; NULL without */
};

struct conns *conns_create(unsigned max, int epfd, int reply)
{
    struct conns *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->fd = malloc(max * sizeof(*c->fd))) == NULL)
        die_errno("malloc");
    if (reply && (c->pending = calloc(max, sizeof(*c->pending))) == NULL)
        die_errno("calloc");
    for (unsigned i = 0; i < max; i++)
        c->fd[i] = -1;
    c->max = max;
    c->epfd = epfd;
    return c;
}

static int free_slot(const struct conns *c)
{
    for (unsigned i = 0; i < c->max; i++)
        if (c->fd[i] == -1)
            return (int)i;
    return -1;
}

/* The greeting is short enough for a fresh socket's buffer: one write. */
static void add(struct conns *c, int fd)
{
    int slot = free_slot(c);
    struct epoll_event ev = {EPOLLIN, {.u64 = (uint64_t)slot}};

    if (slot == -1)
        die("no free client slot with %u live clients", c->live);
    if (write(fd, GREETING, sizeof(GREETING) - 1) !=
        (ssize_t)(sizeof(GREETING) - 1)) {
        close(fd); /* the client left before it was greeted */
        return;
    }
    if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl add client");
    c->fd[slot] = fd;
    c->live++;
}

static unsigned live(void *c)
{
    return ((struct conns *)c)->live;
}

static int start(int fd, void *c)
{
    add(c, fd);
    return 0;
}

int conns_accept(struct conns *c, int lfd, struct server_counts *n)
{
    struct acceptor a = {SOCK_NONBLOCK, c->max, live, start, "add", c};

    return accept_pending(lfd, &a, n);
}

static void drop(struct conns *c, unsigned slot)
{
    /* close() also takes the socket out of the epoll set. */
    if (close(c->fd[slot]) == -1)
        die_errno("close client");
    c->fd[slot] = -1;
    if (c->pending != NULL)
        c->pending[slot].off = c->pending[slot].len = 0;
    c->live--;
}

static void interest(struct conns *c, unsigned slot, uint32_t events)
{
    struct epoll_event ev = {events, {.u64 = (uint64_t)slot}};

    if (epoll_ctl(c->epfd, EPOLL_CTL_MOD, c->fd[slot], &ev) == -1)
        die_errno("epoll_ctl mod client");
}

/* Write what the slot's reply has left; back to reading once it is all
 * gone. */
static void flush(struct conns *c, unsigned slot)
{
    struct pending *p = &c->pending[slot];
    ssize_t w = write(c->fd[slot], p->buf + p->off, p->len - p->off);

    if (w == -1) {
        if (errno != EAGAIN && errno != EINTR)
            drop(c, slot); /* the client left before its reply */
        return;
    }
    p->off += (size_t)w;
    if (p->off == p->len) {
        p->off = p->len = 0;
        interest(c, slot, EPOLLIN);
    }
}

static void reply(struct conns *c, unsigned slot, const char *buf, size_t n)
{
    struct pending *p = &c->pending[slot];

    memcpy(p->buf, buf, n);
    p->len = n;
    flush(c, slot);
    if (c->fd[slot] != -1 && p->len > 0)
        interest(c, slot, EPOLLOUT);
}

void conns_ready(struct conns *c, unsigned slot, struct server_counts *n)
{
    char buf[READ_SIZE];
    ssize_t got;

    /* An event of the batch for a client closed earlier in the batch. */
    if (c->fd[slot] == -1)
        return;
    if (c->pending != NULL && c->pending[slot].len > 0) {
        flush(c, slot);
        return;
    }
    got = read(c->fd[slot], buf, sizeof(buf));

    if (got > 0) {
        if (write_all(STDOUT_FILENO, buf, (size_t)got) == -1)
            die_errno("write to stdout");
        n->bytes += (uint64_t)got;
        n->reads++;
        if (c->pending != NULL)
            reply(c, slot, buf, (size_t)got);
    } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        drop(c, slot); /* EOF, or a reset connection */
    }
}

void conns_close_all(struct conns *c)
{
    for (unsigned i = 0; i < c->max; i++)
        if (c->fd[i] != -1)
            drop(c, i);
}

void conns_destroy(struct conns *c)
{
    free(c->pending);
    free(c->fd);
    free(c);
}
