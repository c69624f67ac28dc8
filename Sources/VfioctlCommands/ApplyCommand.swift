import ArgumentParser
import VFIOKit

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

            Examples:
              vfioctl apply --dry-run
              vfioctl apply /etc/vfioctl.conf --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp("The desired-state file (default: /etc/vfioctl.conf and /etc/vfioctl.conf.d/*.conf under the root prefix).", valueName: "FILE"), completion: .file())
    var file: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wait at most DURATION for holders of a device being released, unless the file says otherwise (default 30s). DURATION is \(DurationText.forms).", valueName: "DURATION")
    )
    var timeout: String?

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        var desired = try DesiredState.load(root: context.root, file: file)
        if let timeout {
            let parsed = try DurationText.parse(timeout, name: "--timeout")
            if desired.timeout == nil { desired.timeout = parsed }
        }
        let renderer = Renderer(context)
        return renderer.render(try context.session(mutation, renderer: renderer).apply(desired))
    }
}
