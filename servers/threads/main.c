/* threads: accept clients and start one thread per client.
 *
 * SIGTERM and SIGINT are blocked in every thread (client threads inherit
 * the mask) and taken by the main thread alone, inside ppoll(), so a stop
 * is seen at one point of the accept loop. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "papaya.h"
#include "threads.h"

/* The acceptor's view of the client threads. */
static unsigned live(void *clients)
{
    return clients_live(clients);
}

static int start(int fd, void *clients)
{
    return clients_spawn(clients, fd);
}

int main(int argc, char *argv[])
{
    struct server_options o;
    struct server_counts n = {0, 0, 0, 0};
    struct clients *c;
    sigset_t unblocked;
    int lfd, status = 0;

    papaya_prog = "threads";
    o = server_options(argc, argv,
                       "A chat server that serves each client from its own "
                       "thread.");
    catch_stop_signals(&unblocked);
    /* A client that vanishes must end its own thread, not the server. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die_errno("signal");
    c = clients_create(o.max_clients, o.reply);
    lfd = listen_and_announce(&o);
    struct acceptor a = {0, o.max_clients, live, start, "pthread_create", c};

    while (!stop_requested) {
        struct pollfd pfd = {lfd, POLLIN, 0};
        int r = ppoll(&pfd, 1, NULL, &unblocked);

        if (r == -1 && errno != EINTR)
            die_errno("ppoll");
        if (r > 0 && accept_pending(lfd, &a, &n) == -1) {
            status = 1;
            break;
        }
    }

    if (close(lfd) == -1)
        die_errno("close listener");
    clients_stop_all(c, &n);
    print_summary(&n);
    clients_destroy(c);
    return status;
}
