import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

/// Options every command that changes the host takes.
struct MutationOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the exact sysfs writes, in order, and change nothing (no root needed).")
    var dryRun = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wait at most SECONDS for another vfioctl run to release /run/vfioctl/lock (default 30; 0 = do not wait; also 500ms, 2m).",
            valueName: "SECONDS"),
        transform: DurationArgument.lockTimeoutParser(atMost: 86_400))
    var lockTimeout: DurationArgument = .lock

    var lockTimeoutDuration: Duration { lockTimeout.duration }
}

extension CommandContext {
    /// The session a changing command runs its one service in: this root, the kernel seams,
    /// `--dry-run` and `--lock-timeout`, and the renderer's live output.
    func session(_ mutation: MutationOptions, renderer: Renderer) -> HostSession {
        session(dryRun: mutation.dryRun, lockTimeout: mutation.lockTimeoutDuration, observer: renderer.sessionObserver())
    }

    /// A session on this root with the kernel seams, for front ends that report progress their
    /// own way (a hook logs, the agent prints a line a pass).
    func session(dryRun: Bool = false, lockTimeout: Duration = .seconds(30), observer: (@Sendable (SessionEvent) -> Void)? = nil) -> HostSession {
        HostSession(
            root: root, seams: services, dryRun: dryRun, lockTimeout: lockTimeout, pciIDsFile: environment["VFIOCTL_PCI_IDS"], observer: observer)
    }
}
