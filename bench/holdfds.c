/* Benchmark helper: processes that hold file descriptors, for vfioctl's holder-scan and
 * release-latency benchmarks (bench/bench.py builds and runs it; nothing else uses it).
 *
 *   holdfds many N FDS EVERY TARGET   fork N children; each opens FDS descriptors (the
 *                                     target twice in every EVERY-th child, the rest /dev/null,
 *                                     a regular file, pipes, a socket pair, an eventfd);
 *                                     prints "ready" when all hold them, then waits to be killed
 *   holdfds release TARGET            open TARGET, print "ready", and on a line on stdin print
 *                                     "released <CLOCK_MONOTONIC ns>" and exit at once
 *
 * Every process here dies with its parent (PR_SET_PDEATHSIG), and the driver kills the whole
 * process group, so nothing outlives a run, even a driver killed with SIGKILL. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    fprintf(stderr, "holdfds: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int open_or_die(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(path);
    return fd;
}

/* Opens about `want` descriptors of assorted kinds; `target` (if not NULL) twice. */
static void hold(int want, const char *target) {
    int n = 0;
    if (target) {
        open_or_die(target);
        open_or_die(target);
        n += 2;
    }
    while (n < want) {
        int p[2];
        switch (n % 6) {
        case 0: open_or_die("/dev/null"); n++; break;
        case 1: open_or_die("/proc/self/exe"); n++; break;
        case 2: if (pipe2(p, O_CLOEXEC) != 0) die("pipe"); n += 2; break;
        case 3: if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) die("socketpair"); n += 2; break;
        case 4: if (eventfd(0, EFD_CLOEXEC) < 0) die("eventfd"); n++; break;
        default: open_or_die("/etc/hostname"); n++; break;
        }
    }
}

static int many(int count, int fds, int every, const char *target) {
    int ready[2];
    if (pipe(ready) != 0) die("pipe");
    pid_t parent = getpid();
    for (int i = 0; i < count; i++) {
        pid_t pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            close(ready[0]);
            hold(fds, (every > 0 && i % every == 0) ? target : NULL);
            if (write(ready[1], "x", 1) != 1) _exit(1);
            close(ready[1]);
            for (;;) pause();
        }
    }
    close(ready[1]);
    char buf[4096];
    int got = 0;
    while (got < count) {
        ssize_t n = read(ready[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            fprintf(stderr, "holdfds: only %d of %d children became ready\n", got, count);
            return 1;
        }
        got += (int)n;
    }
    printf("ready\n");
    fflush(stdout);
    /* Reap nothing; wait to be killed with the process group. */
    for (;;) pause();
}

static int release(const char *target) {
    open_or_die(target);
    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    printf("released %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    /* Die with the driver, even if it is killed outright; the children die with this process. */
    pid_t driver = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != driver) return 1;
    if (argc == 6 && strcmp(argv[1], "many") == 0) return many(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv[5]);
    if (argc == 3 && strcmp(argv[1], "release") == 0) return release(argv[2]);
    fprintf(stderr, "usage: holdfds many N FDS EVERY TARGET | holdfds release TARGET\n");
    return 64;
}
