import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct ListCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every PCI function, grouped by IOMMU group",
        discussion: """
            Each row shows the group, address, class, [vendor:device] ids, driver and names. A '*' after the \
            driver marks a VFIO-bound function. A group is 'viable' when every member is unbound, VFIO-bound, \
            pci-stub or pcieport; otherwise the members that block it are listed by 'vfioctl show group:N'.

            Examples:
              vfioctl list
              vfioctl list --vfio
              vfioctl list --class 0300 --json
            """,
        aliases: ["ls"]
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only this IOMMU group.", valueName: "N"))
    var group: Int?

    @Option(help: ArgumentHelp("Only functions bound to this driver ('none' for unbound ones).", valueName: "DRIVER"))
    var driver: String?

    @Option(
        name: .customLong("class"),
        help: ArgumentHelp("Only this class: a hex prefix of the class code (02, 0300, 010802) or a word of the class name (ethernet).", valueName: "CLASS"))
    var classFilter: String?

    @Flag(help: "Only functions bound to a VFIO driver.")
    var vfio = false

    @Flag(help: "Show the PCI hierarchy: functions under the bridges and switch ports they sit behind.")
    var tree = false

    func validate() throws {
        if let group, group < 0 { throw ValidationError("--group must be a group number (0 or more)") }
        if let classFilter, classFilter.isEmpty || classFilter.count > 64 { throw ValidationError("--class needs a value") }
    }

    /// The filters, read from the options once.
    var filter: ListFilter { ListFilter(group: group, driver: driver, vfioOnly: vfio, classFilter: classFilter) }

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        // Read only what this view shows (the service knows what each needs).
        let detail: ListDetail = context.options.json ? .document : context.options.quiet ? .none : tree ? .tree : .table
        let listing = try context.session().list(detail)
        let inventory = listing.inventory
        let filter = filter
        // No filter: the inventory's own array, not a copy of a few thousand devices.
        let shown = filter.isEverything ? inventory.devices : inventory.devices.filter(filter.matches)
        if let group, inventory.groups[group] == nil {
            throw VFIOError.unavailable(inventory.iommuEnabled ? "no IOMMU group \(group)" : "no IOMMU group \(group): the IOMMU is off; run 'vfioctl doctor'")
        }
        return Renderer(context).renderList(listing, shown: shown, tree: tree)
    }
}

/// `list`'s filters as plain values: an option's value is a property-wrapper lookup on each
/// read, and reading them per device cost milliseconds on thousands of functions.
struct ListFilter {
    var group: Int?
    var driver: String?
    var vfioOnly = false
    /// Lowercased; a hex prefix of the class code when `classIsHex`, else a word of the class name.
    var classFilter: String?
    var classIsHex = false

    init(group: Int? = nil, driver: String? = nil, vfioOnly: Bool = false, classFilter: String? = nil) {
        self.group = group
        self.driver = driver
        self.vfioOnly = vfioOnly
        let lowered = classFilter?.lowercased()
        self.classFilter = lowered
        if let lowered { classIsHex = lowered.allSatisfy(\.isHexDigit) && lowered.count <= 6 && lowered.count % 2 == 0 }
    }

    /// Whether every function passes.
    var isEverything: Bool { group == nil && driver == nil && !vfioOnly && classFilter == nil }

    func matches(_ device: PCIDevice) -> Bool {
        if let group, device.iommuGroup != group { return false }
        if let driver {
            if driver == "none" { if device.driver != nil { return false } } else if device.driver != driver { return false }
        }
        if vfioOnly && !device.isVFIOBound { return false }
        if let classFilter {
            if classIsHex {
                if !device.classCodeHex.hasPrefix(classFilter) { return false }
            } else if !(device.names.className?.lowercased().contains(classFilter) ?? false) {
                return false
            }
        }
        return true
    }
}
