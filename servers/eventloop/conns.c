/* The clients of the event loop. Level-triggered epoll: one read(2) per
 * readiness, so that data still in the socket is reported again and every
 * read is relayed with one write(2) to stdout, as in every other server. */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "eventloop.h"
#include "papaya.h"

struct conns {
    unsigned max, live;
    int *fd; /* per slot; -1 = free */
    int epfd;
};

struct conns *conns_create(unsigned max, int epfd)
{
    struct conns *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->fd = malloc(max * sizeof(*c->fd))) == NULL)
        die_errno("malloc");
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
    c->live--;
}

void conns_read(struct conns *c, unsigned slot, struct server_counts *n)
{
    char buf[READ_SIZE];
    ssize_t got;

    /* An event of the batch for a client closed earlier in the batch. */
    if (c->fd[slot] == -1)
        return;
    got = read(c->fd[slot], buf, sizeof(buf));

    if (got > 0) {
        if (write_all(STDOUT_FILENO, buf, (size_t)got) == -1)
            die_errno("write to stdout");
        n->bytes += (uint64_t)got;
        n->reads++;
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
    free(c->fd);
    free(c);
}
