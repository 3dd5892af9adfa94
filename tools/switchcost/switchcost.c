/* switchcost: what one context switch costs on this host.
 *
 *     switchcost --mode processes|threads|syscalls --cpus LIST --seconds S
 *
 * Two tasks ping-pong one byte over two pipes: the measuring side writes a
 * byte into "ping" and blocks reading "pong"; its partner blocks reading
 * "ping" and answers into "pong". On one CPU every round trip is two
 * context switches (to the partner and back), each with the wake-up that
 * causes it. The partner is a forked process (mode processes) or a second
 * thread of this process (mode threads). Mode syscalls prices what such a
 * round trip costs without any switch: one thread makes the same 2 writes
 * and 2 reads itself, each read finding its byte already there, so
 *
 *     ns per switch = (ping-pong round trip - syscalls round trip) / 2.
 *
 * The result is ONE JSON object on stdout. Usage errors exit 2, other
 * errors 1, each with one message on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "papaya.h"

/* Round trips between two reads of the clock: as many as take about
 * BATCH_NS (measured during the warm-up), between BATCH_MIN and BATCH_MAX.
 * A clock read costs tens of nanoseconds and a round trip microseconds, so
 * a few thousand round trips per read add nothing measurable, yet a slow
 * round trip (tens of microseconds across CPUs in a VM) must not make a
 * short run overshoot --seconds by a whole fixed batch. */
#define BATCH_NS 2000000LL
#define BATCH_MIN 64
#define BATCH_MAX 4096

/* The warm-up lasts a fifth of the run, at most this long: enough for both
 * tasks to have run on their CPUs, their pages to be faulted in and an idle
 * CPU to have left its deeper sleep states before the clock starts. */
#define WARMUP_MAX_NS 50000000LL

#define NS_PER_S 1000000000LL
#define MAX_CPUS 2

enum mode { MODE_PROCESSES, MODE_THREADS, MODE_SYSCALLS };
static const char *const mode_names[] = {"processes", "threads", "syscalls"};
#define N_MODES (sizeof(mode_names) / sizeof(mode_names[0]))

struct options {
    enum mode mode;
    int cpus[MAX_CPUS];
    int ncpus;
    double seconds;
};

/* ping carries the measuring side's byte to the partner, pong brings it
 * back; [0] is each pipe's read end, [1] its write end. */
struct pipes {
    int ping[2];
    int pong[2];
};

struct result {
    uint64_t round_trips;
    int64_t elapsed_ns;
    long voluntary;      /* switches of the measuring thread while timed */
    long involuntary;
};

/* A batch of n round trips of one mode, run by the measuring thread. */
typedef void batch_fn(const struct pipes *p, uint64_t n);

/* The partner process of mode processes; 0 before fork, once reaped, and
 * in the child itself (its copy is never set), so that the exit handler
 * only ever kills a child of this process. */
static pid_t child_pid;

/* The partner's CPU, read by the partner thread, and its name in
 * messages. */
static int partner_cpu;
static const char *partner_name = "partner";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: switchcost --mode MODE --cpus LIST [--seconds S]\n"
            "Ping-pong one byte over two pipes and print the cost of a round "
            "trip\nas one JSON object on stdout.\n"
            "  --mode processes  two processes (fork): 2 switches per round "
            "trip\n"
            "  --mode threads    two threads of one process: 2 switches per "
            "round trip\n"
            "  --mode syscalls   one thread makes the same 2 writes and 2 "
            "reads\n"
            "                    itself: the system calls alone, no switch\n"
            "  --cpus LIST       one CPU (both sides pinned to it) or two, "
            "e.g. 0,1\n"
            "                    (one side on each); syscalls takes one\n"
            "  --seconds S       timed wall time, after a short warm-up "
            "(default 1)\n"
            "  --help            show this message\n"
            "ns per switch = (round trip of processes or threads - round "
            "trip of\nsyscalls) / 2. voluntary_switches and "
            "involuntary_switches are the\nmeasuring thread's over the timed "
            "part (getrusage RUSAGE_THREAD).\n");
}

static int64_t now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        die_errno("clock_gettime");
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static enum mode parse_mode(const char *text)
{
    for (size_t i = 0; i < N_MODES; i++)
        if (strcmp(text, mode_names[i]) == 0)
            return (enum mode)i;
    die_usage("--mode: '%s' is not one of processes, threads, syscalls",
              text);
}

/* The CPUs this process may run on, so that a CPU outside them is refused
 * with a usage message rather than sched_setaffinity's bare EINVAL. */
static cpu_set_t allowed_cpus(void)
{
    cpu_set_t set;

    if (sched_getaffinity(0, sizeof(set), &set) == -1)
        die_errno("sched_getaffinity");
    return set;
}

/* The set as "0,1,3", for messages; static storage. */
static const char *cpu_list(const cpu_set_t *set)
{
    static char text[CPU_SETSIZE * 5];
    size_t used = 0;

    text[0] = '\0';
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, set))
            used += (size_t)snprintf(text + used, sizeof(text) - used,
                                     "%s%d", used > 0 ? "," : "", cpu);
    return text;
}

/* "0" or "0,1": one CPU or two different ones, each one this process may
 * run on. parse_u64() names --cpus in its own messages. */
static int parse_cpus(const char *text, int cpus[MAX_CPUS])
{
    cpu_set_t allowed = allowed_cpus();
    char *copy, *rest, *item;
    int n = 0;

    copy = strdup(text);
    if (copy == NULL)
        die_errno("strdup");
    rest = copy;
    while ((item = strsep(&rest, ",")) != NULL) {
        int cpu = (int)parse_u64("--cpus", item, 0, CPU_SETSIZE - 1);

        if (n == MAX_CPUS)
            die_usage("--cpus: '%s' names more than %d CPUs", text,
                      MAX_CPUS);
        if (n == 1 && cpus[0] == cpu)
            die_usage("--cpus: CPU %d is named twice", cpu);
        if (!CPU_ISSET(cpu, &allowed))
            die_usage("--cpus: CPU %d is not one this process may run on "
                      "(it may run on %s)", cpu, cpu_list(&allowed));
        cpus[n++] = cpu;
    }
    free(copy);
    return n;
}

/* "--name VALUE" or "--name=VALUE": the value, advancing *i past it; NULL
 * if argv[*i] is another option. */
static const char *option_value(int argc, char *argv[], int *i,
                                const char *name)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];

    if (strncmp(arg, name, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        die_usage("%s needs a value (try --help)", name);
    return argv[++*i];
}

static struct options parse_args(int argc, char *argv[])
{
    struct options o = {.mode = MODE_PROCESSES, .ncpus = 0, .seconds = 1};
    int have_mode = 0;
    const char *value;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            exit(EXIT_SUCCESS);
        } else if ((value = option_value(argc, argv, &i, "--mode"))) {
            o.mode = parse_mode(value);
            have_mode = 1;
        } else if ((value = option_value(argc, argv, &i, "--cpus"))) {
            o.ncpus = parse_cpus(value, o.cpus);
        } else if ((value = option_value(argc, argv, &i, "--seconds"))) {
            o.seconds = parse_positive_double("--seconds", value);
        } else {
            die_usage("unknown argument '%s' (try --help)", argv[i]);
        }
    }
    if (!have_mode)
        die_usage("missing --mode processes|threads|syscalls (try --help)");
    if (o.ncpus == 0)
        die_usage("missing --cpus LIST (try --help)");
    if (o.mode == MODE_SYSCALLS && o.ncpus != 1)
        die_usage("--cpus: mode syscalls runs one thread on one CPU; "
                  "give one CPU, not %d", o.ncpus);
    /* Far beyond any sensible run; keeps the nanoseconds in range. */
    if (o.seconds > 86400)
        die_usage("--seconds: %g is more than a day", o.seconds);
    return o;
}

/* pid 0 is the calling thread, not the whole process: each side of the
 * ping-pong pins itself, and a thread or child inherits the pinning of the
 * side that started it until it pins itself. */
static void pin_to(int cpu, const char *who)
{
    cpu_set_t set;

    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) == -1)
        die_errno("%s: cannot pin to CPU %d (sched_setaffinity)", who, cpu);
}

/* A one-byte write to a pipe is all or nothing (never short). EPIPE: the
 * other side has closed its read end, i.e. it ended. */
static void put_byte(int fd, const char *who)
{
    const char byte = 'p';
    ssize_t n;

    do
        n = write(fd, &byte, 1);
    while (n == -1 && errno == EINTR);
    if (n == -1 && errno == EPIPE)
        die("%s: the %s ended before the run did", who, partner_name);
    if (n == -1)
        die_errno("%s: write to pipe", who);
}

/* 1 once a byte came, 0 at end-of-file (every write end closed). */
static int get_byte(int fd, const char *who)
{
    char byte;
    ssize_t n;

    do
        n = read(fd, &byte, 1);
    while (n == -1 && errno == EINTR);
    if (n == -1)
        die_errno("%s: read from pipe", who);
    return n == 1;
}

static void close_fd(int fd, const char *what)
{
    if (close(fd) == -1)
        die_errno("close %s", what);
}

static struct pipes make_pipes(void)
{
    struct pipes p;

    /* Close-on-exec for hygiene: nothing here execs, but no descriptor
     * should outlive the program in someone else's process. */
    if (pipe2(p.ping, O_CLOEXEC) == -1 || pipe2(p.pong, O_CLOEXEC) == -1)
        die_errno("pipe2");
    return p;
}

/* The partner's side: answer every byte until the measuring side closes
 * its write end of ping. */
static void partner_loop(const struct pipes *p, const char *who)
{
    while (get_byte(p->ping[0], who))
        put_byte(p->pong[1], who);
}

static void ping_pong(const struct pipes *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        put_byte(p->ping[1], "ping");
        if (!get_byte(p->pong[0], "pong"))
            die("pong: the %s ended before the run did", partner_name);
    }
}

/* The same four system calls as a ping-pong round trip, on the same two
 * pipes, but every read finds its byte already there: nobody sleeps, and
 * nobody is woken. */
static void syscalls_only(const struct pipes *p, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        put_byte(p->ping[1], "ping");
        if (!get_byte(p->ping[0], "ping"))
            die("ping: unexpected end-of-file");
        put_byte(p->pong[1], "pong");
        if (!get_byte(p->pong[0], "pong"))
            die("pong: unexpected end-of-file");
    }
}

static struct rusage thread_rusage(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_THREAD, &ru) == -1)
        die_errno("getrusage");
    return ru;
}

/* Round trips per batch: about BATCH_NS' worth at the warm-up's pace. */
static uint64_t batch_size(uint64_t round_trips, int64_t elapsed_ns)
{
    double n = (double)BATCH_NS * (double)round_trips / (double)elapsed_ns;

    if (n < BATCH_MIN)
        return BATCH_MIN;
    if (n > BATCH_MAX)
        return BATCH_MAX;
    return (uint64_t)n;
}

/* Warm up, then run batches until seconds of wall time have passed. The
 * clock is read only between batches, so the timed span ends exactly after
 * the last round trip counted. */
static struct result run_timed(batch_fn *batch, const struct pipes *p,
                               double seconds)
{
    int64_t limit_ns = (int64_t)(seconds * NS_PER_S);
    int64_t warmup_ns = limit_ns / 5 < WARMUP_MAX_NS ? limit_ns / 5
                                                     : WARMUP_MAX_NS;
    uint64_t warmup_round_trips = 0, n;
    int64_t start, now;
    struct rusage before, after;
    struct result r = {0, 0, 0, 0};

    start = now_ns();
    do {
        batch(p, BATCH_MIN);
        warmup_round_trips += BATCH_MIN;
        now = now_ns();
    } while (now - start < warmup_ns);
    n = batch_size(warmup_round_trips, now - start);

    before = thread_rusage();
    start = now_ns();
    do {
        batch(p, n);
        r.round_trips += n;
        now = now_ns();
    } while (now - start < limit_ns);
    after = thread_rusage();

    r.elapsed_ns = now - start;
    r.voluntary = after.ru_nvcsw - before.ru_nvcsw;
    r.involuntary = after.ru_nivcsw - before.ru_nivcsw;
    return r;
}

/* At exit, on every path (die() included): a child still running is
 * killed and reaped, so that no partner is left spinning on a pipe. An
 * exit handler cannot exit again, so failures are only reported. */
static void kill_child(void)
{
    if (child_pid <= 0)
        return;
    if (kill(child_pid, SIGKILL) == -1 && errno != ESRCH)
        fprintf(stderr, "%s: kill child %ld: %s\n", papaya_prog,
                (long)child_pid, strerror(errno));
    while (waitpid(child_pid, NULL, 0) == -1) {
        if (errno != EINTR) {
            fprintf(stderr, "%s: waitpid child %ld: %s\n", papaya_prog,
                    (long)child_pid, strerror(errno));
            break;
        }
    }
    child_pid = 0;
}

/* In the child: only the partner's ends stay open, so that each side sees
 * end-of-file as soon as the other's ends are closed. */
static void run_child(const struct pipes *p, pid_t parent)
{
    /* If the parent is killed outright (SIGKILL: no exit handler runs),
     * the kernel kills the child too. The parent may have died before
     * prctl() took effect, which getppid() then shows. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
        die_errno("child: prctl(PR_SET_PDEATHSIG)");
    if (getppid() != parent)
        _exit(1);
    partner_name = "parent process";
    pin_to(partner_cpu, "child");
    close_fd(p->ping[1], "ping write end");
    close_fd(p->pong[0], "pong read end");
    partner_loop(p, "child");
    /* _exit(): the exit handlers and stdio buffers are the parent's. */
    _exit(EXIT_SUCCESS);
}

static void wait_child_success(void)
{
    int status;
    pid_t pid = child_pid;

    while (waitpid(pid, &status, 0) == -1)
        if (errno != EINTR)
            die_errno("waitpid child");
    child_pid = 0;
    if (WIFSIGNALED(status))
        die("the child process was killed by signal %d", WTERMSIG(status));
    if (WEXITSTATUS(status) != 0)
        die("the child process exited with status %d",
            WEXITSTATUS(status));
}

static struct result measure_processes(const struct pipes *p, double seconds)
{
    struct result r;
    pid_t parent = getpid();
    pid_t pid;

    /* Nothing may sit in stdout's buffer when the child gets a copy. */
    if (fflush(stdout) == EOF)
        die_errno("fflush stdout");
    partner_name = "child process";
    pid = fork();
    if (pid == -1)
        die_errno("fork");
    if (pid == 0)
        run_child(p, parent);
    child_pid = pid;

    close_fd(p->ping[0], "ping read end");
    close_fd(p->pong[1], "pong write end");
    r = run_timed(ping_pong, p, seconds);
    /* End-of-file on ping tells the child to exit. */
    close_fd(p->ping[1], "ping write end");
    wait_child_success();
    close_fd(p->pong[0], "pong read end");
    return r;
}

static void *partner_thread(void *arg)
{
    const struct pipes *p = arg;

    pin_to(partner_cpu, "partner thread");
    partner_loop(p, "partner thread");
    return NULL;
}

static struct result measure_threads(struct pipes *p, double seconds)
{
    struct result r;
    pthread_t thread;
    int err;

    partner_name = "partner thread";
    /* pthread functions return the error instead of setting errno. */
    err = pthread_create(&thread, NULL, partner_thread, p);
    if (err != 0) {
        errno = err;
        die_errno("pthread_create");
    }
    r = run_timed(ping_pong, p, seconds);
    /* The fds are shared by both threads: closing the only write end of
     * ping is end-of-file for the partner, which then returns. */
    close_fd(p->ping[1], "ping write end");
    err = pthread_join(thread, NULL);
    if (err != 0) {
        errno = err;
        die_errno("pthread_join");
    }
    close_fd(p->ping[0], "ping read end");
    close_fd(p->pong[0], "pong read end");
    close_fd(p->pong[1], "pong write end");
    return r;
}

static void print_result(const struct options *o, const struct result *r)
{
    printf("{\"mode\":\"%s\",\"cpus\":[", mode_names[o->mode]);
    for (int i = 0; i < o->ncpus; i++)
        printf("%s%d", i > 0 ? "," : "", o->cpus[i]);
    printf("],\"round_trips\":%" PRIu64 ",\"elapsed_ns\":%" PRId64
           ",\"ns_per_round_trip\":%.3f,\"voluntary_switches\":%ld,"
           "\"involuntary_switches\":%ld}\n",
           r->round_trips, r->elapsed_ns,
           (double)r->elapsed_ns / (double)r->round_trips, r->voluntary,
           r->involuntary);
    if (fflush(stdout) == EOF || ferror(stdout))
        die_errno("cannot write to stdout");
}

int main(int argc, char *argv[])
{
    struct options o;
    struct pipes p;
    struct result r;

    papaya_prog = "switchcost";
    o = parse_args(argc, argv);
    partner_cpu = o.cpus[o.ncpus - 1];

    if (atexit(kill_child) != 0)
        die("atexit failed");
    /* A partner that dies must show up as EPIPE and a message, not as a
     * silent death of the measuring side by SIGPIPE. */
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        die_errno("signal(SIGPIPE)");

    pin_to(o.cpus[0], "switchcost");
    p = make_pipes();
    switch (o.mode) {
    case MODE_PROCESSES:
        r = measure_processes(&p, o.seconds);
        break;
    case MODE_THREADS:
        r = measure_threads(&p, o.seconds);
        break;
    case MODE_SYSCALLS:
    default:
        r = run_timed(syscalls_only, &p, o.seconds);
        break;
    }
    print_result(&o, &r);
    return EXIT_SUCCESS;
}
