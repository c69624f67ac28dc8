/// A snapshot of the host's PCI functions and IOMMU groups, read once from sysfs. Commands plan
/// and render from this value; nothing here writes.
public struct HostInventory: Sendable {
    public var devices: [PCIDevice]
    public var groups: [Int: IOMMUGroup]
    /// `/sys/kernel/iommu_groups` has at least one group.
    public var iommuEnabled: Bool
    /// The running kernel's `vfio_pci:` module aliases (which VFIO variant drivers fit which
    /// device); nil when the snapshot was read without them (`InventoryReader.Fields.vfioDrivers`).
    public var vfioAliases: [VFIOAlias]?

    public init(devices: consuming [PCIDevice], groups: [Int: IOMMUGroup], iommuEnabled: Bool) {
        // The reader gives them in address order already; sorting in place only when not
        // spares moving thousands of devices.
        if !devices.isInAddressOrder { devices.sort { $0.address < $1.address } }
        self.devices = devices
        self.groups = groups
        self.iommuEnabled = iommuEnabled
        var index: [PCIAddress: Int] = [:]
        index.reserveCapacity(self.devices.count)
        for i in self.devices.indices { index[self.devices[i].address] = i }
        self.index = index
    }

    private var index: [PCIAddress: Int]

    public func device(_ address: PCIAddress) -> PCIDevice? {
        index[address].map { devices[$0] }
    }

    /// The PCI members of a group that sysfs lists (a member whose device directory vanished
    /// mid-read is left out).
    public func members(of group: IOMMUGroup) -> [PCIDevice] {
        group.members.compactMap { device($0) }
    }

    public func viability(of group: IOMMUGroup) -> Viability {
        Viability.evaluate(members(of: group))
    }

    public var sortedGroups: [IOMMUGroup] {
        // The ids sorted, not the groups: sorting thousands of values moved each one many times.
        groups.keys.sorted().compactMap { groups[$0] }
    }

    /// Resolves a target to the functions it names.
    /// - Throws: `.unavailable` when the device or group is not there, or no function has the ids.
    public func resolve(_ target: Target) throws(VFIOError) -> [PCIDevice] {
        switch target {
        case .address(let address):
            guard let device = device(address) else {
                throw .unavailable("no PCI device \(address) (not in /sys/bus/pci/devices)", target: address.description)
            }
            return [device]
        case .group(let id):
            guard let group = groups[id] else {
                if !iommuEnabled {
                    throw .unavailable("no IOMMU group \(id): the IOMMU is off (no groups in /sys/kernel/iommu_groups); run 'vfioctl doctor'", target: "group:\(id)")
                }
                throw .unavailable("no IOMMU group \(id) in /sys/kernel/iommu_groups", target: "group:\(id)")
            }
            return members(of: group)
        case .ids(let vendor, let deviceID):
            let matches = devices.filter { $0.vendorID == vendor && $0.deviceID == deviceID }
            guard !matches.isEmpty else { throw .unavailable("no PCI device with ids \(target)", target: target.description) }
            return matches
        }
    }
}

extension [PCIDevice] {
    /// Whether the devices are in address order. Read by index, addresses only: iterating the
    /// devices themselves copies each one (a few dozen fields, a dozen reference-counted).
    var isInAddressOrder: Bool { indices.dropFirst().allSatisfy { self[$0 - 1].address < self[$0].address } }
}
