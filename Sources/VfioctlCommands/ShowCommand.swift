import ArgumentParser
import VFIOKit

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
        let database = context.database()
        let inventory = try context.inventory(database: database)
        let devices = try inventory.resolve(target)
        // Holders (through VFIO, or through a host-bound device's own nodes) come from one /proc
        // scan for all the devices; `holders` has the details.
        let finder = HolderFinder(root: context.root, options: .init(hostNodes: true), deviceNumbers: context.services.deviceNumbers)
        let report = try? finder.find(devices.map(\.address))
        let holders = devices.map { device in
            report.flatMap { $0.covers(device.address) ? $0.restricted(to: device.address) : nil }
        }
        var groups = Set(devices.compactMap(\.iommuGroup))
        if case .group(let id) = target { groups.insert(id) }
        var view = ShowView(
            target: target, devices: devices, holders: holders, inventory: inventory, config: ConfigReport.Reader(database: database, inventory: inventory),
            domains: (try? StateStore(root: context.root).load())?.domains ?? [:])
        view.attach = IOMMUPlatformReader(root: context.root).attachVerdicts(groups.sorted())
        return Renderer(context).render(view)
    }
}
