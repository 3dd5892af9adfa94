/* The stop signals, SIGTERM and SIGINT, taken at one point of a program's
 * loop and never in the middle of its bookkeeping: either as a descriptor
 * its event loop reads, or as a flag set while ppoll() unblocks them. */
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>

#include "papaya.h"

volatile sig_atomic_t stop_requested;

static sigset_t stop_set(void)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

int stop_signal_fd(void)
{
    sigset_t set = stop_set();
    int fd;

    if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
        die_errno("sigprocmask");
    fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1)
        die_errno("signalfd");
    return fd;
}

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
}

void catch_stop_signals(sigset_t *unblocked)
{
    sigset_t set = stop_set();
    struct sigaction sa;

    if (sigprocmask(SIG_BLOCK, &set, unblocked) == -1)
        die_errno("sigprocmask");
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    if (sigaction(SIGTERM, &sa, NULL) == -1 ||
        sigaction(SIGINT, &sa, NULL) == -1)
        die_errno("sigaction");
}
