import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

struct HoldersCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "holders",
        abstract: "Show the processes holding a device or IOMMU group through VFIO",
        discussion: """
            Lists every process with the group node (/dev/vfio/N), the device cdev (/dev/vfio/devices/vfioX), \
            a VFIO device fd or a mapping of the device: pid, command, since when, unit, and which fd. Nodes are \
            matched by device number, so nodes a container made for itself count too. A VFIO-bound device that is \
            open (its enable count is 1) while no fd names it is reported as such, with the likely holders: before \
            Linux 6.18 the kernel does not say which device an anonymous VFIO device fd is.

            Exits 0 whether or not anything holds the targets; use --json to read the answer, or 'vfioctl wait'.

            Examples:
              vfioctl holders 01:00.0
              vfioctl holders group:12 --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        Renderer(context).render(try context.session().holders(targets), now: Int64(time(nil)))
    }
}
