#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import VFIOKit

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
        let console = context.console
        let live = !context.options.quiet && !context.options.json
        var shown = ""
        let outcome = try HolderWaiter(root: context.root, deviceNumbers: context.services.deviceNumbers).waitUntilFree(
            devices: addresses, timeout: limit,
            progress: live
                ? { progress in
                    // Redraw only when the line changes; a free scan that is being confirmed keeps
                    // the last holder's line, so the status never claims more than is known.
                    guard !progress.report.isFree else { return }
                    let line = HolderRendering.progressLine(progress)
                    if line != shown {
                        shown = line
                        console.status(line)
                    }
                } : nil)
        console.clearStatus()
        let now = Int64(time(nil))
        if context.options.json { console.emitJSON(WaitDocument(outcome: outcome, timeout: limit, now: now)) }
        let names = addresses.map(\.description).joined(separator: ", ")
        if outcome.isFree {
            if live {
                let waited = outcome.scans > 1 ? " (after " + HolderRendering.preciseSeconds(outcome.waited) + ")" : ""
                console.line(names + (addresses.count == 1 ? " is free" : " are free") + waited)
                if context.options.verbose {
                    console.line(HolderRendering.plural(outcome.scans, "scan", "scans") + ", the last one after a " + outcome.decidedBy.rawValue)
                }
            }
            return .success
        }
        let message = "timed out after " + HolderRendering.preciseSeconds(outcome.waited) + ": " + HolderRendering.summary(outcome.report)
        if context.options.json {
            // The document above already says why; the exit status and one line say it too.
            console.error("vfioctl: " + message)
            return .timedOut
        }
        throw VFIOError.timedOut(message)
    }
}
