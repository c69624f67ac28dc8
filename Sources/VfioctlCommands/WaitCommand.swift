import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

struct WaitCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until devices are free: no process holds them or their IOMMU group",
        discussion: """
            Free means no process has the group node or the device open, maps it, or holds a VFIO device fd \
            for it, and a VFIO-bound device is not open (enable 0). The wait is woken by the holders' exits \
            (pidfd) and, after the first second, by closes in /dev/vfio (inotify), and rescans /proc periodically; it only reports free \
            after a scan says so. On a terminal it shows who it is waiting for.

            Exit status: 0 free, 3 timed out (the message names the holders).

            Examples:
              vfioctl wait 01:00.0
              vfioctl wait group:12 --timeout 2m
              vfioctl wait 01:00.0 --timeout 0      # check once
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @Option(
        help: ArgumentHelp("Give up after DURATION (default 30s; 0 checks once). DURATION is \(DurationText.forms).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument = .holders

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let renderer = Renderer(context)
        let view = try context.session(observer: renderer.sessionObserver()).wait(for: targets, timeout: timeout.duration)
        return try renderer.render(view, now: Int64(time(nil)))
    }
}
