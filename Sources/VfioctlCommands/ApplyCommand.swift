import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct ApplyCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the host match a desired-state file: which devices on which driver",
        discussion: """
            Reads FILE, or /etc/vfioctl.conf and /etc/vfioctl.conf.d/*.conf, and moves each device the file names with \
            the same rules as 'bind' and 'unbind' (viability, in-use guards, waiting for holders). Reports every device \
            as changed, unchanged, refused or failed. Idempotent: a second run changes nothing.

            Exit status: 0 when the host matches the file; otherwise 4 if a rollback failed, 1 if a change failed, \
            3 if holders did not let go in time, 2 if something was refused.

            With --watch, keeps applying: again 200 ms after the files change (inotify), when a VFIO node closes while \
            a device waits for its holders, and every --interval. Held devices are never waited for inside a pass: \
            they are reported as waiting and tried again. One JSON line per pass on standard output. A file that does \
            not parse is reported and the last good state stays in force. SIGTERM or SIGINT stops it between passes \
            (exit 0).

            Examples:
              vfioctl apply --dry-run
              vfioctl apply /etc/vfioctl.conf --json
              vfioctl apply --watch --interval 5m
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp("The desired-state file (default: /etc/vfioctl.conf and /etc/vfioctl.conf.d/*.conf under the root prefix).", valueName: "FILE"), completion: .file())
    var file: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wait at most DURATION for holders of a device being released, unless the file says otherwise (default 30s). DURATION is \(DurationText.forms).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument?

    @Flag(name: .long, help: "Keep the host in the desired state: re-apply on every change and periodically; one JSON line per pass.")
    var watch = false

    @Option(
        name: .long,
        help: ArgumentHelp("With --watch, re-apply at least every DURATION (default 60s). DURATION is \(DurationText.forms).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--interval"))
    var interval: DurationArgument?

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        if watch { return try executeWatch(context) }
        if interval != nil { throw VFIOError.usage("--interval needs --watch") }
        let renderer = Renderer(context)
        let session = context.session(mutation, renderer: renderer)
        var desired = try session.desiredState(file: file)
        if let timeout, desired.timeout == nil { desired.timeout = timeout.duration }
        return renderer.render(try session.apply(desired))
    }
}

extension ApplyCommand {
    /// `--watch`: the `ApplyWatcher` service over inotify and a signalfd; this only renders.
    func executeWatch(_ context: CommandContext) throws -> ExitStatus {
        if mutation.dryRun { throw VFIOError.usage("--watch cannot be combined with --dry-run (the agent acts; use 'apply --dry-run' to preview)") }
        if timeout != nil { throw VFIOError.usage("--timeout has no effect with --watch: the agent never waits for holders inside a pass") }
        var policy = WatchPolicy()
        if let interval {
            guard interval.duration >= .seconds(1) else { throw VFIOError.usage("--interval must be at least 1s") }
            policy.interval = interval.duration
        }
        let renderer = Renderer(context)
        try context.session(lockTimeout: mutation.lockTimeoutDuration).watch(file: file, policy: policy) { renderer.render($0) }
        return .success
    }
}
