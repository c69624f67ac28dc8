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
        try Self.validate(lockTimeout: lockTimeout, atMost: 86_400)
    }

    var lockTimeoutDuration: Duration { Self.duration(lockTimeout: lockTimeout) }

    /// `--lock-timeout` is a finite number of seconds from 0 to `limit` (commands that a VM
    /// manager calls allow less).
    static func validate(lockTimeout seconds: Double, atMost limit: Double) throws {
        guard seconds.isFinite, seconds >= 0, seconds <= limit else {
            throw ValidationError("--lock-timeout must be a number of seconds from 0 to \(Int(limit))")
        }
    }

    static func duration(lockTimeout seconds: Double) -> Duration { .milliseconds(Int64((seconds * 1000).rounded())) }
}

extension CommandContext {
    /// The session a changing command runs its one service in: this root, the kernel seams,
    /// `--dry-run` and `--lock-timeout`, and the renderer's live output.
    func session(_ mutation: MutationOptions, renderer: Renderer) -> HostSession {
        session(dryRun: mutation.dryRun, lockTimeout: mutation.lockTimeoutDuration, observer: renderer.sessionObserver())
    }

    /// A session on this root with the kernel seams, for front ends that report progress their
    /// own way (a hook logs, the agent prints a line a pass).
    func session(dryRun: Bool = false, lockTimeout: Duration, observer: (@Sendable (SessionEvent) -> Void)? = nil) -> HostSession {
        HostSession(
            root: root, kernel: services.kernel(root), executorOptions: services.executorOptions, dryRun: dryRun,
            effectiveUID: services.effectiveUID, lockTimeout: lockTimeout, deviceNumbers: services.deviceNumbers, observer: observer)
    }
}
