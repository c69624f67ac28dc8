#ifndef VFIOCTL_LINUX_SHIM_H
#define VFIOCTL_LINUX_SHIM_H

// Linux system calls that Swift cannot reach through the Glibc module: `syscall` is variadic,
// and glibc only declares statx and pidfd_open under _GNU_SOURCE (or in headers the module
// does not include). Each wrapper returns -1 and leaves errno set on failure, like libc.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/stat.h>
#include <sys/signalfd.h>

#ifndef AT_STATX_DONT_SYNC
#define AT_STATX_DONT_SYNC 0x4000
#endif

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

/// statx(2). The caller passes AT_STATX_DONT_SYNC so that a file on a hung network or FUSE
/// mount answers from its cached attributes instead of blocking the scan.
static inline int vfioctl_statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buffer) {
    return (int)syscall(SYS_statx, dirfd, path, flags, mask, buffer);
}

/// pidfd_open(2), Linux 5.3+. ENOSYS on older kernels.
static inline int vfioctl_pidfd_open(int pid, unsigned int flags) {
    return (int)syscall(SYS_pidfd_open, pid, flags);
}

/// An eventfd (close-on-exec): the cheapest way to get an fd on the shared anonymous inode.
static inline int vfioctl_eventfd(void) {
    return (int)syscall(SYS_eventfd2, 0, 02000000 /* O_CLOEXEC */);
}

/// setfsuid(2): per thread, unlike setuid, which glibc broadcasts to every thread. Tests use
/// it to read a fixture as an unprivileged user for one synchronous call.
static inline int vfioctl_setfsuid(unsigned int uid) {
    return (int)syscall(SYS_setfsuid, uid);
}

/// getdents64(2) into a caller-owned buffer: no allocation per directory, unlike readdir.
static inline long vfioctl_getdents64(int fd, void *buffer, unsigned long size) {
    return syscall(SYS_getdents64, fd, buffer, size);
}

/// Blocks SIGTERM and SIGINT in the calling thread (threads it starts later inherit the mask)
/// and returns a non-blocking signalfd that reads them. A long-running loop then sees a stop
/// request only where it polls, never in the middle of a sysfs write.
static inline int vfioctl_stop_signalfd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/// The number of the signal a signalfd read returned (struct signalfd_siginfo's first field).
static inline int vfioctl_read_stop_signal(int fd) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    return n == (ssize_t)sizeof info ? (int)info.ssi_signo : -1;
}

#endif
