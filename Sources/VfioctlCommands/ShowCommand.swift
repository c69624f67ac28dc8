import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct ShowCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show everything about one device or IOMMU group, and whether the group is viable",
        discussion: """
            Examples:
              vfioctl show 01:00.0
              vfioctl show group:12 --json
              vfioctl show 10de:2204
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(
        help: ArgumentHelp("A device (0000:01:00.0, 01:00.0), a group (group:12) or ids (10de:2204).", valueName: "TARGET"), completion: .targets,
        transform: Target.argument)
    var target: Target

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        Renderer(context).render(try context.session().show(target))
    }
}
