#if canImport(Glibc)
import Glibc
#endif

/// Spawns a program and waits for it; the only place vfioctl runs another program.
enum Subprocess {
    /// Returns the exit status, or -1 when it could not be started.
    static func run(_ arguments: [String]) -> Int32 {
        // modprobe lives in /sbin or /usr/sbin, which a sudo or systemd PATH may lack.
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        var pid = pid_t()
        let cArgs = arguments.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let spawned = posix_spawnp(&pid, arguments[0], nil, nil, cArgs, cEnv)
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
