/* The client threads. Each reads up to READ_SIZE bytes and writes each
 * read to stdout with one write(2) (and, with --reply, back to its client),
 * as every server under test does. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "papaya.h"
#include "threads.h"

/* Small stacks: a thread needs little beyond its read buffer, and 10,000
 * threads of the default 8 MiB would reserve 80 GiB of address space. */
#define STACK_SIZE (256 * 1024)

struct slot {
    pthread_t thread;
    int fd;
    int used;             /* a thread was started and not yet joined */
    int done;             /* set by the thread as it ends (atomic) */
    int reply;            /* --reply */
    uint64_t bytes, reads;
};

struct clients {
    unsigned max;
    int reply;
    struct slot *slots;
    pthread_attr_t attr;
    uint64_t bytes_done, reads_done; /* by threads already joined */
};

struct clients *clients_create(unsigned max, int reply)
{
    struct clients *c = calloc(1, sizeof(*c));
    int err;

    if (c == NULL || (c->slots = calloc(max, sizeof(*c->slots))) == NULL)
        die_errno("calloc");
    c->max = max;
    c->reply = reply;
    if ((err = pthread_attr_init(&c->attr)) != 0 ||
        (err = pthread_attr_setstacksize(&c->attr, STACK_SIZE)) != 0) {
        errno = err;
        die_errno("pthread_attr");
    }
    return c;
}

static void *serve(void *arg)
{
    struct slot *s = arg;
    char buf[READ_SIZE];

    if (write_all(s->fd, GREETING, sizeof(GREETING) - 1) == 0) {
        for (;;) {
            ssize_t n = read(s->fd, buf, sizeof(buf));
            if (n == 0 || (n == -1 && errno != EINTR))
                break; /* EOF, or a reset or shut-down socket */
            if (n == -1)
                continue;
            if (relay(s->fd, buf, (size_t)n, s->reply) == -1)
                break; /* the client left before its reply */
            s->bytes += (uint64_t)n; /* read by the main thread after join */
            s->reads++;
        }
    }
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static void join(struct clients *c, struct slot *s)
{
    int err = pthread_join(s->thread, NULL);

    if (err != 0) {
        errno = err;
        die_errno("pthread_join");
    }
    if (close(s->fd) == -1)
        die_errno("close client");
    c->bytes_done += s->bytes;
    c->reads_done += s->reads;
    s->used = 0;
}

unsigned clients_live(struct clients *c)
{
    unsigned live = 0;

    for (unsigned i = 0; i < c->max; i++) {
        struct slot *s = &c->slots[i];
        if (s->used && __atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
            join(c, s);
        live += (unsigned)s->used;
    }
    return live;
}

int clients_spawn(struct clients *c, int fd)
{
    for (unsigned i = 0; i < c->max; i++) {
        struct slot *s = &c->slots[i];
        int err;

        if (s->used)
            continue;
        *s = (struct slot){.fd = fd, .used = 1, .reply = c->reply};
        err = pthread_create(&s->thread, &c->attr, serve, s);
        if (err == 0)
            return 0;
        s->used = 0;
        close(fd);
        errno = err;
        return -1;
    }
    die("no free client slot with %u live clients", c->max);
}

void clients_stop_all(struct clients *c, struct server_counts *n)
{
    for (unsigned i = 0; i < c->max; i++)
        if (c->slots[i].used &&
            shutdown(c->slots[i].fd, SHUT_RDWR) == -1 && errno != ENOTCONN)
            die_errno("shutdown client");
    for (unsigned i = 0; i < c->max; i++)
        if (c->slots[i].used)
            join(c, &c->slots[i]);
    n->bytes = c->bytes_done;
    n->reads = c->reads_done;
}

void clients_destroy(struct clients *c)
{
    pthread_attr_destroy(&c->attr);
    free(c->slots);
    free(c);
}
