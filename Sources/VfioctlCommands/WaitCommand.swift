import ArgumentParser
import VFIOKit

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

    @Option(help: ArgumentHelp("Give up after DURATION (default 30s; 0 checks once). DURATION is \(DurationText.forms).", valueName: "DURATION"))
    var timeout: String = "30s"

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let limit = try DurationText.parse(timeout, name: "--timeout")
        let addresses = try HolderTargets.resolve(targets, context: context, command: "wait")
        let renderer = Renderer(context)
        let observe = renderer.sessionObserver()
        let outcome = try HolderWaiter(root: context.root, deviceNumbers: context.services.deviceNumbers).waitUntilFree(devices: addresses, timeout: limit) {
            progress in
            // A free scan that is being confirmed keeps the last holder's line, so the status
            // never claims more than is known.
            guard !progress.report.isFree else { return }
            observe(.waitingForHolders(progress))
        }
        observe(.waitEnded)
        return try renderer.render(outcome, addresses: addresses, timeout: limit, now: Int64(time(nil)))
    }
}
