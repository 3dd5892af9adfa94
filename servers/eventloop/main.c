/* eventloop: one thread, one epoll set holding the listening socket, a
 * signalfd for SIGTERM and SIGINT (so a stop is handled between two
 * events, never inside one) and every client. */
#include <errno.h>
#include <signal.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "eventloop.h"
#include "papaya.h"

#define MAX_EVENTS 256

static void watch(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev = {EPOLLIN, {.u64 = tag}};

    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
        die_errno("epoll_ctl");
}

int main(int argc, char *argv[])
{
    struct server_options o;
    struct server_counts n = {0, 0, 0, 0};
    struct epoll_event events[MAX_EVENTS];
    struct conns *c;
    int lfd, sfd, epfd, stop = 0, status = 0;

    papaya_prog = "eventloop";
    o = server_options(argc, argv,
                       "A chat server that serves every client from one "
                       "thread with epoll.");
    sfd = stop_signal_fd();
    /* A client that vanishes must end its connection, not the server. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die_errno("signal");
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) == -1)
        die_errno("epoll_create1");
    c = conns_create(o.max_clients, epfd, o.reply);
    lfd = listen_and_announce(&o);
    watch(epfd, lfd, LISTEN_TAG);
    watch(epfd, sfd, SIGNAL_TAG);

    while (!stop) {
        int got = epoll_wait(epfd, events, MAX_EVENTS, -1);

        if (got == -1 && errno != EINTR)
            die_errno("epoll_wait");
        for (int k = 0; k < got && !stop; k++) {
            uint64_t tag = events[k].data.u64;

            if (tag == SIGNAL_TAG)
                stop = 1;
            else if (tag == LISTEN_TAG)
                stop = status = conns_accept(c, lfd, &n) == -1;
            else
                conns_ready(c, (unsigned)tag, &n);
        }
    }

    if (close(lfd) == -1)
        die_errno("close listener");
    conns_close_all(c);
    print_summary(&n);
    conns_destroy(c);
    return status;
}
