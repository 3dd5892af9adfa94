/* rusage: run a command and record the resources it and its descendants
 * used, as reported by wait4(2).
 *
 *     rusage --out FILE.json -- CMD [ARGS...]
 *
 * The exit status mirrors CMD's, so rusage can stand in for CMD in scripts:
 * CMD's exit code, or 128 + the signal that killed it. SIGTERM, SIGINT and
 * SIGHUP sent to rusage are passed on to CMD, so a harness that stops
 * "the server" by signalling rusage stops the server itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "papaya.h"
#include "report.h"

/* The shell's convention for "command could not be run". */
#define EXIT_CANNOT_RUN 127

static const int forwarded_signals[] = {SIGTERM, SIGINT, SIGHUP};
#define N_FORWARDED (sizeof(forwarded_signals) / sizeof(forwarded_signals[0]))

/* Written only while the forwarded signals are blocked, so the handler never
 * sees it half-updated. */
static volatile pid_t child_pid;

/* Dispositions and mask as they were when rusage started; the child gets
 * them back so that CMD runs as if rusage were not there (an ignored SIGHUP
 * under nohup stays ignored, for instance). */
static struct sigaction saved_actions[N_FORWARDED];
static sigset_t saved_mask;

struct options {
    const char *out;
    char **command;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: rusage --out FILE.json -- CMD [ARGS...]\n"
            "Run CMD and write the resources used by it and every descendant\n"
            "it reaped (getrusage/wait4) to FILE.json as one JSON object.\n"
            "  --out FILE  where to write the record (replaced atomically)\n"
            "  --help      show this message\n"
            "SIGTERM, SIGINT and SIGHUP are forwarded to CMD. The exit "
            "status is\nCMD's, 128+N if CMD was killed by signal N, or 127 "
            "if CMD could not\nbe run (then no FILE is written).\n");
}

static struct options parse_args(int argc, char *argv[])
{
    struct options o = {NULL, NULL};
    int i;

    /* Options stop at "--", which is required: without it a typo such as
     * "rusage --out f.json sleep 1" would be ambiguous about where rusage's
     * flags end and CMD's begin. */
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *arg = argv[i];

        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            exit(EXIT_SUCCESS);
        } else if (strcmp(arg, "--out") == 0) {
            if (i + 1 >= argc)
                die_usage("--out needs a file name");
            o.out = argv[++i];
        } else if (strncmp(arg, "--out=", 6) == 0) {
            o.out = arg + 6;
        } else if (arg[0] == '-') {
            die_usage("unknown option '%s' (try --help)", arg);
        } else {
            die_usage("missing '--' before the command '%s'", arg);
        }
    }
    if (o.out == NULL)
        die_usage("missing --out FILE (try --help)");
    if (o.out[0] == '\0')
        die_usage("--out needs a non-empty file name");
    if (i >= argc)
        die_usage("missing '--' before the command (try --help)");
    if (i + 1 >= argc)
        die_usage("missing command after '--'");
    o.command = &argv[i + 1];
    return o;
}

/* Pass the signal on and let CMD decide what it means; rusage itself stays
 * alive to collect CMD's status. kill() can only fail here if CMD changed
 * its credentials, and a handler has no good way to report that. */
static void forward_signal(int sig)
{
    int saved_errno = errno;

    if (child_pid > 0)
        (void)kill(child_pid, sig);
    errno = saved_errno;
}

static sigset_t forwarded_set(void)
{
    sigset_t set;

    if (sigemptyset(&set) == -1)
        die_errno("sigemptyset");
    for (size_t i = 0; i < N_FORWARDED; i++)
        if (sigaddset(&set, forwarded_signals[i]) == -1)
            die_errno("sigaddset");
    return set;
}

/* Block the signals first and install the handlers second: a signal that
 * arrives from here until the child's pid is known stays pending instead of
 * being lost or sent nowhere. */
static void install_forwarding(void)
{
    struct sigaction sa;
    sigset_t block = forwarded_set();

    if (sigprocmask(SIG_BLOCK, &block, &saved_mask) == -1)
        die_errno("sigprocmask");

    /* No SA_RESTART: the waits below handle EINTR themselves. The handler
     * blocks all three so that forwarding is never nested. */
    sa.sa_handler = forward_signal;
    sa.sa_mask = block;
    sa.sa_flags = 0;
    for (size_t i = 0; i < N_FORWARDED; i++)
        if (sigaction(forwarded_signals[i], &sa, &saved_actions[i]) == -1)
            die_errno("sigaction");
}

/* Block the forwarded signals again, for good. Called once the child is a
 * zombie and before it is reaped: after wait4() its pid may be reused, and
 * a late forward would then hit an unrelated process. */
static void stop_forwarding(void)
{
    sigset_t block = forwarded_set();

    if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)
        die_errno("sigprocmask");
}

/* In the child, between fork() and exec(): only async-signal-safe calls, and
 * _exit() rather than exit() so the parent's stdio buffers are not flushed
 * twice. If exec fails, errno goes up the close-on-exec pipe; a successful
 * exec closes the pipe and the parent reads end-of-file instead. */
static void exec_child(char **command, int err_fd)
{
    int err;

    for (size_t i = 0; i < N_FORWARDED; i++)
        if (sigaction(forwarded_signals[i], &saved_actions[i], NULL) == -1)
            goto fail;
    if (sigprocmask(SIG_SETMASK, &saved_mask, NULL) == -1)
        goto fail;
    execvp(command[0], command);
fail:
    err = errno;
    /* Nothing else to do if the write fails: the parent then sees
     * end-of-file and reports the 127 exit status through the JSON. */
    (void)write_all(err_fd, &err, sizeof(err));
    _exit(EXIT_CANNOT_RUN);
}

/* Returns 0 if the child exec'd (or died before it could), otherwise the
 * errno of the failed exec. */
static int read_exec_error(int fd)
{
    int err;
    ssize_t n;

    do
        n = read(fd, &err, sizeof(err));
    while (n == -1 && errno == EINTR);
    if (n == -1)
        die_errno("read from exec-status pipe");
    if (close(fd) == -1)
        die_errno("close exec-status pipe");
    if (n == 0)
        return 0;
    if (n != (ssize_t)sizeof(err))
        die("short read from exec-status pipe");
    return err;
}

/* Wait for the child in two steps. waitid(WNOWAIT) waits with forwarding
 * still on (forwarded signals interrupt it, hence the EINTR loop) but leaves
 * the child a zombie, so its pid cannot be reused; forwarding is then turned
 * off and wait4() reaps it and collects the rusage of the child and of every
 * descendant it reaped. */
static int wait_child(pid_t pid, struct rusage *ru)
{
    siginfo_t info;
    int status;

    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) == -1)
        if (errno != EINTR)
            die_errno("waitid");
    stop_forwarding();
    while (wait4(pid, &status, 0, ru) == -1)
        if (errno != EINTR)
            die_errno("wait4");
    return status;
}

static int run(char **command, struct rusage *ru, double *wall_s)
{
    int pipe_fd[2];
    pid_t pid;
    int status, exec_err;
    double start;

    install_forwarding();
    if (pipe2(pipe_fd, O_CLOEXEC) == -1)
        die_errno("pipe2");

    start = monotonic_s();
    pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0)    /* the read end is close-on-exec; no need to close it */
        exec_child(command, pipe_fd[1]);

    child_pid = pid;
    if (sigprocmask(SIG_SETMASK, &saved_mask, NULL) == -1)
        die_errno("sigprocmask");
    /* Our copy of the write end must go, or read() would never see EOF. */
    if (close(pipe_fd[1]) == -1)
        die_errno("close exec-status pipe");

    exec_err = read_exec_error(pipe_fd[0]);
    status = wait_child(pid, ru);
    *wall_s = monotonic_s() - start;

    /* Die only after reaping, and before anything is written: a record for
     * a command that never ran would be misleading. */
    if (exec_err != 0)
        die_status(EXIT_CANNOT_RUN, "cannot run %s: %s", command[0],
                   strerror(exec_err));
    return status;
}

/* Mirror the child's status the way a shell reports it. */
static int exit_status_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int main(int argc, char *argv[])
{
    struct options o;
    struct rusage ru;
    double wall_s;
    int status;
    size_t len;
    char *json;

    papaya_prog = "rusage";
    o = parse_args(argc, argv);

    status = run(o.command, &ru, &wall_s);

    json = format_report(o.command, status, &ru, wall_s, &len);
    write_file_atomic(o.out, json, len);
    free(json);
    return exit_status_of(status);
}
