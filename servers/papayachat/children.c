/* The table of live children. getrusage in the server's parent sees a
 * child's CPU time only once the child is reaped, so every child is waited
 * for, at SIGCHLD and at shutdown, before the server exits. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "papaya.h"
#include "papayachat.h"

struct children {
    unsigned max;
    unsigned live;
    int listen_fd;       /* closed in every child */
    int reply;           /* --reply */
    pid_t *pid;          /* per slot; 0 = free */
    struct relayed *relayed; /* per slot, shared with the child */
    struct relayed done;     /* by children already reaped */
};

struct children *children_create(unsigned max, int listen_fd, int reply)
{
    struct children *c = calloc(1, sizeof(*c));

    if (c == NULL || (c->pid = calloc(max, sizeof(*c->pid))) == NULL)
        die_errno("calloc");
    c->relayed = mmap(NULL, max * sizeof(*c->relayed),
                      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
                      0);
    if (c->relayed == MAP_FAILED)
        die_errno("mmap");
    c->max = max;
    c->listen_fd = listen_fd;
    c->reply = reply;
    return c;
}

unsigned children_live(const struct children *c)
{
    return c->live;
}

static int free_slot(const struct children *c)
{
    for (unsigned i = 0; i < c->max; i++)
        if (c->pid[i] == 0)
            return (int)i;
    return -1;
}

int children_spawn(struct children *c, int fd)
{
    int slot = free_slot(c);
    pid_t pid;

    if (slot == -1)
        die("no free child slot with %u live children", c->live);
    c->relayed[slot] = (struct relayed){0, 0};
    pid = fork();
    if (pid == -1) {
        close(fd);
        return -1;
    }
    if (pid == 0) {
        sigset_t none;

        /* The parent's handlers only set its flags; a child stops at
         * SIGTERM by the default action. */
        if (signal(SIGTERM, SIG_DFL) == SIG_ERR ||
            signal(SIGINT, SIG_DFL) == SIG_ERR ||
            signal(SIGCHLD, SIG_DFL) == SIG_ERR)
            die_errno("signal");
        sigemptyset(&none);
        if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
            die_errno("sigprocmask");
        close(c->listen_fd);
        serve_client(fd, &c->relayed[slot], c->reply);
    }
    close(fd);
    c->pid[slot] = pid;
    c->live++;
    return 0;
}

static void add_slot(struct relayed *sum, const struct relayed *slot)
{
    sum->bytes += __atomic_load_n(&slot->bytes, __ATOMIC_RELAXED);
    sum->reads += __atomic_load_n(&slot->reads, __ATOMIC_RELAXED);
}

static void forget(struct children *c, pid_t pid)
{
    for (unsigned i = 0; i < c->max; i++) {
        if (c->pid[i] == pid) {
            add_slot(&c->done, &c->relayed[i]);
            c->pid[i] = 0;
            c->live--;
            return;
        }
    }
}

static unsigned reap(struct children *c, int flags)
{
    unsigned n = 0;
    pid_t pid;

    while (c->live > 0) {
        pid = waitpid(-1, NULL, flags);
        if (pid == -1) {
            if (errno == EINTR)
                continue;
            die_errno("waitpid");
        }
        if (pid == 0)
            break;
        forget(c, pid);
        n++;
    }
    return n;
}

unsigned children_reap(struct children *c)
{
    return reap(c, WNOHANG);
}

static void signal_all(const struct children *c, int sig)
{
    for (unsigned i = 0; i < c->max; i++)
        if (c->pid[i] != 0 && kill(c->pid[i], sig) == -1 && errno != ESRCH)
            die_errno("kill %ld", (long)c->pid[i]);
}

void children_stop_all(struct children *c, double grace_s)
{
    double deadline = monotonic_s() + grace_s;
    sigset_t chld;
    struct timespec step = {0, 50 * 1000 * 1000};

    signal_all(c, SIGTERM);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    /* SIGCHLD is blocked here, so sigtimedwait sleeps until a child exits
     * (or the step passes) without a race against the handler. */
    while (children_reap(c), c->live > 0 && monotonic_s() < deadline)
        if (sigtimedwait(&chld, NULL, &step) == -1 && errno != EAGAIN &&
            errno != EINTR)
            die_errno("sigtimedwait");
    if (c->live > 0) {
        fprintf(stderr, "%s: %u children ignored SIGTERM; killing them\n",
                papaya_prog, c->live);
        signal_all(c, SIGKILL);
        reap(c, 0);
    }
}

struct relayed children_relayed(const struct children *c)
{
    struct relayed total = c->done;

    for (unsigned i = 0; i < c->max; i++)
        if (c->pid[i] != 0)
            add_slot(&total, &c->relayed[i]);
    return total;
}

void children_destroy(struct children *c)
{
    if (munmap(c->relayed, c->max * sizeof(*c->relayed)) == -1)
        die_errno("munmap");
    free(c->pid);
    free(c);
}
