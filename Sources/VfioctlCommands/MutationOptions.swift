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
}

extension CommandContext {
    /// The session a changing command runs its one service in: this root, the kernel seams,
    /// `--dry-run` and `--lock-timeout`, and the renderer's live output.
    func session(_ mutation: MutationOptions, renderer: Renderer) -> HostSession {
        HostSession(
            root: root, kernel: services.kernel(root), executorOptions: services.executorOptions, dryRun: mutation.dryRun,
            effectiveUID: services.effectiveUID, lockTimeout: mutation.lockTimeoutDuration, deviceNumbers: services.deviceNumbers,
            observer: renderer.sessionObserver())
    }
}
