import ArgumentParser
import VFIOKit

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
        let addresses = try HolderTargets.resolve(targets, context: context, command: "holders")
        let finder = HolderFinder(root: context.root, options: .init(hostNodes: true), deviceNumbers: context.services.deviceNumbers)
        let report = try finder.find(addresses)
        let domains = (try? StateStore(root: context.root).load())?.domains ?? [:]
        return Renderer(context).render(report, now: Int64(time(nil)), domains: domains)
    }
}

/// Targets of `holders` and `wait`, resolved to functions.
enum HolderTargets {
    /// Resolves the targets (parsed with the arguments) in order, without
    /// duplicates (a group and one of its members may both be named).
    static func resolve(_ parsed: [Target], context: CommandContext, command: String) throws(VFIOError) -> [PCIAddress] {
        guard !parsed.isEmpty else {
            throw .usage("\(command) needs at least one TARGET: " + Target.acceptedForms)
        }
        let inventory = try InventoryReader(root: context.root, database: nil, fields: .forChanges).read()
        var addresses: [PCIAddress] = []
        var seen = Set<PCIAddress>()
        for target in parsed {
            let devices = try inventory.resolve(target)
            if devices.isEmpty { throw .unavailable("\(target) has no PCI functions") }
            for device in devices where seen.insert(device.address).inserted { addresses.append(device.address) }
        }
        return addresses
    }
}
