/// What to read beyond the core every view needs (address, ids, class, driver, IOMMU group,
/// VFIO state and the vendor, device and class names). A field left out keeps its default
/// (`nil`, empty), so a view must only ask for less than it shows. `list` on thousands of
/// functions is bounded by system calls, so its table reads only the core.
public struct InventoryFields: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// Subsystem ids and name, revision, header type, `driver_override`, NUMA node, reset
    /// methods, `boot_vga`, `enable`.
    public static let attributes = InventoryFields(rawValue: 1 << 0)
    /// The upstream bridge, the PF of a VF, SR-IOV capabilities and VFs.
    public static let topology = InventoryFields(rawValue: 1 << 1)
    /// Each group's default domain type, reserved regions and non-PCI members. Without it,
    /// a group's PCI members come from its members' `iommu_group` links (the kernel makes
    /// those and the group's `devices/` entries together), so no group directory is read.
    public static let groupDetails = InventoryFields(rawValue: 1 << 2)
    /// The running kernel's `vfio_pci:` aliases from `modules.alias` (`HostInventory.vfioAliases`).
    public static let vfioDrivers = InventoryFields(rawValue: 1 << 3)
    public static let all: InventoryFields = [.attributes, .topology, .groupDetails, .vfioDrivers]
    /// What binding, releasing and waiting decide from: every device's attributes and
    /// topology, and each group's members, not its reserved regions or domain type.
    public static let forChanges: InventoryFields = [.attributes, .topology]
}
