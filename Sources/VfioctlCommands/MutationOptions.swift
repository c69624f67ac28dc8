import ArgumentParser
import VFIOKit

/// Options every command that changes the host takes.
struct MutationOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the exact sysfs writes, in order, and change nothing (no root needed).")
    var dryRun = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wait at most SECONDS for another vfioctl run to release /run/vfioctl/lock (default 30; 0 = do not wait).",
            valueName: "SECONDS"))
    var lockTimeout: Double = 30

    func validate() throws {
        guard lockTimeout.isFinite, lockTimeout >= 0, lockTimeout <= 86_400 else {
            throw ValidationError("--lock-timeout must be a number of seconds from 0 to 86400")
        }
    }

    var lockTimeoutDuration: Duration { .milliseconds(Int64((lockTimeout * 1000).rounded())) }

    /// Takes the host lock for a mutating command (not for a dry run), telling the user once
    /// if it has to wait.
    func acquireLock(_ context: CommandContext) throws(VFIOError) -> HostLock? {
        guard !dryRun else { return nil }
        let console = context.console
        let quiet = context.options.quiet
        return try HostLock.acquire(root: context.root, timeout: lockTimeoutDuration) { holder in
            guard !quiet else { return }
            let who = holder.map { "another vfioctl (pid \($0))" } ?? "another vfioctl"
            console.error("vfioctl: waiting for \(who) to release \(HostLock.hostPath)…")
        }
    }
}
