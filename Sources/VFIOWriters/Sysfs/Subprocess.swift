import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Spawns a program and waits for it; the only place vfioctl runs another program.
enum Subprocess {
    /// Returns the exit status, or -1 when it could not be started.
    static func run(_ arguments: [String]) -> Int32 {
        // modprobe lives in /sbin or /usr/sbin, which a sudo or systemd PATH may lack.
        var env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        // systemd's tools (udevadm) ignore every request when they find themselves in a chroot,
        // unless this is set: a rescue shell or a test guest chrooted into a system whose udevd
        // runs sets it for them to reach that udevd.
        if let ignore = getenv("SYSTEMD_IGNORE_CHROOT") { env.append("SYSTEMD_IGNORE_CHROOT=" + String(cString: ignore)) }
        var pid = pid_t()
        let cArgs = arguments.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        // A child starts with every signal unblocked: `apply --watch` blocks SIGTERM and SIGINT
        // for itself (it reads them through a signalfd), and a blocked mask would be inherited.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let spawned = posix_spawnp(&pid, arguments[0], nil, &attributes, cArgs, cEnv)
        guard spawned == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        // WIFEXITED / WEXITSTATUS, spelled out because the C macros are not imported.
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}
