/* papayachat: accept clients and fork one process per client.
 *
 * Signals are blocked except inside ppoll(), so SIGCHLD and SIGTERM are
 * seen at one point of the loop and never interrupt its bookkeeping. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "papaya.h"
#include "papayachat.h"
#include "server.h"

#define SHUTDOWN_GRACE_S 3.0

static volatile sig_atomic_t got_child;

static void on_child(int sig)
{
    (void)sig;
    got_child = 1;
}

/* SIGTERM, SIGINT and SIGCHLD are blocked but inside ppoll(). */
static void install_handlers(sigset_t *unblocked)
{
    struct sigaction sa;
    sigset_t chld;

    catch_stop_signals(unblocked);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &chld, NULL) == -1)
        die_errno("sigprocmask");
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_child;
    if (sigaction(SIGCHLD, &sa, NULL) == -1)
        die_errno("sigaction");
    /* A client that vanishes must end its own process, not the server. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die_errno("signal");
}

/* The acceptor's view of the children table. */
static unsigned live(void *kids)
{
    return children_live(kids);
}

static int start(int fd, void *kids)
{
    return children_spawn(kids, fd);
}

int main(int argc, char *argv[])
{
    struct server_options o;
    struct children *kids;
    struct server_counts n = {0, 0, 0, 0};
    struct relayed relayed;
    sigset_t unblocked;
    int lfd, status = 0;

    papaya_prog = "papayachat";
    o = server_options(argc, argv,
                       "A chat server that serves each client from its own "
                       "process.");
    install_handlers(&unblocked);
    lfd = listen_and_announce(&o);
    kids = children_create(o.max_clients, lfd, o.reply);
    struct acceptor a = {0, o.max_clients, live, start, "fork", kids};

    while (!stop_requested) {
        struct pollfd pfd = {lfd, POLLIN, 0};
        int r = ppoll(&pfd, 1, NULL, &unblocked);

        if (r == -1 && errno != EINTR)
            die_errno("ppoll");
        if (got_child) {
            got_child = 0;
            children_reap(kids);
        }
        if (r > 0 && accept_pending(lfd, &a, &n) == -1) {
            status = 1;
            break;
        }
    }

    if (close(lfd) == -1)
        die_errno("close listener");
    children_stop_all(kids, SHUTDOWN_GRACE_S);
    relayed = children_relayed(kids);
    n.bytes = relayed.bytes;
    n.reads = relayed.reads;
    print_summary(&n);
    children_destroy(kids);
    return status;
}
