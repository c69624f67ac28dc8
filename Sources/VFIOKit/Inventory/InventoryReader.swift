/// Reads a `HostInventory` from sysfs under a root prefix. This and the sysfs writer are the only
/// places that know sysfs file names.
public struct InventoryReader {
    public let root: HostRoot
    public let database: PCIDatabase?
    public let fields: Fields

    /// What to read beyond the core every view needs (address, ids, class, driver, IOMMU group,
    /// VFIO state and the vendor, device and class names). A field left out keeps its default
    /// (`nil`, empty), so a view must only ask for less than it shows. `list` on thousands of
    /// functions is bounded by system calls, so its table reads only the core.
    public struct Fields: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }

        /// Subsystem ids and name, revision, header type, `driver_override`, NUMA node, reset
        /// methods, `boot_vga`, `enable`.
        public static let attributes = Fields(rawValue: 1 << 0)
        /// The upstream bridge, the PF of a VF, SR-IOV capabilities and VFs.
        public static let topology = Fields(rawValue: 1 << 1)
        /// Each group's default domain type, reserved regions and non-PCI members. Without it,
        /// a group's PCI members come from its members' `iommu_group` links (the kernel makes
        /// those and the group's `devices/` entries together), so no group directory is read.
        public static let groupDetails = Fields(rawValue: 1 << 2)
        public static let all: Fields = [.attributes, .topology, .groupDetails]
    }

    public init(root: HostRoot, database: PCIDatabase?, fields: Fields = .all) {
        self.root = root
        self.database = database
        self.fields = fields
    }

    /// - Throws: `.unavailable` when there is no `/sys/bus/pci/devices` at all.
    public func read() throws(VFIOError) -> HostInventory {
        guard let devicesDir = SysfsDirectory(root.pciDevices), let names = devicesDir.list() else {
            throw .unavailable("cannot read \(root.pciDevices): no PCI bus (is sysfs mounted?)")
        }
        var devices: [PCIDevice] = []
        devices.reserveCapacity(names.count)
        for name in names {
            // Entries are kernel-made names; anything that is not an address is skipped, so no
            // path is ever built from an unvalidated name.
            guard let address = PCIAddress(name), let device = readDevice(address, in: devicesDir) else { continue }
            devices.append(device)
        }
        let groups = fields.contains(.groupDetails) ? readGroups() : groupsFromLinks(devices)
        return HostInventory(devices: devices, groups: groups, iommuEnabled: !groups.isEmpty)
    }

    /// The groups `/sys/kernel/iommu_groups` lists, with the PCI members whose `iommu_group`
    /// link names them (sorted), and no details.
    func groupsFromLinks(_ devices: [PCIDevice]) -> [Int: IOMMUGroup] {
        var groups: [Int: IOMMUGroup] = [:]
        for name in Sysfs.list(root.iommuGroups) ?? [] {
            guard let id = Int(name), id >= 0 else { continue }
            groups[id] = IOMMUGroup(id: id, members: [])
        }
        for device in devices {
            guard let id = device.iommuGroup else { continue }
            groups[id]?.members.append(device.address)
        }
        for id in groups.keys { groups[id]?.members.sort() }
        return groups
    }

    /// Reads one function; nil if it vanished or is not a readable PCI device directory.
    public func readDevice(_ address: PCIAddress) -> PCIDevice? {
        guard let devicesDir = SysfsDirectory(root.pciDevices) else { return nil }
        return readDevice(address, in: devicesDir)
    }

    /// Reads one function relative to an open `/sys/bus/pci/devices`: the device directory is
    /// opened once (through the bus symlink) and every attribute is read relative to it.
    func readDevice(_ address: PCIAddress, in devicesDir: borrowing SysfsDirectory) -> PCIDevice? {
        let name = address.description
        guard let dir = SysfsDirectory(name, in: devicesDir) else { return nil }
        guard let vendor = dir.readHex("vendor"), let deviceID = dir.readHex("device") else { return nil }
        let classCode = dir.readHex("class") ?? 0
        var device = PCIDevice(
            address: address, vendorID: UInt16(truncatingIfNeeded: vendor), deviceID: UInt16(truncatingIfNeeded: deviceID),
            classCode: classCode & 0xff_ffff)
        device.driver = dir.linkName("driver")
        device.iommuGroup = dir.linkName("iommu_group").flatMap { Int($0) }
        device.vfioDeviceName = dir.list("vfio-dev")?.sorted().first
        if fields.contains(.attributes) {
            device.subsystemVendorID = dir.readHex("subsystem_vendor").map { UInt16(truncatingIfNeeded: $0) }
            device.subsystemDeviceID = dir.readHex("subsystem_device").map { UInt16(truncatingIfNeeded: $0) }
            device.revision = dir.readHex("revision").map { UInt8(truncatingIfNeeded: $0) }
            // The first 64 bytes of config space are readable without CAP_SYS_ADMIN; byte 0x0E is
            // the header type, bit 7 the multi-function flag.
            dir.withBytes("config", limit: 64) { config in
                guard let config, config.count > 0x0E else { return }
                device.headerType = config[0x0E] & 0x7f
                device.multiFunction = config[0x0E] & 0x80 != 0
            }
            if let override = dir.read("driver_override"), override != "(null)", !override.isEmpty {
                device.driverOverride = override
            }
            device.numaNode = dir.readInt("numa_node")
            if let methods = dir.read("reset_method") {
                device.resetMethods = methods.split(separator: " ").map(String.init)
            }
            device.bootVGA = dir.readInt("boot_vga").map { $0 != 0 }
            device.enableCount = dir.readInt("enable")
        }
        if fields.contains(.topology) {
            // /sys/bus/pci/devices/BDF links to /sys/devices/pci0000:00/<upstream…>/BDF; the
            // component before the last is the upstream bridge when it is a PCI address.
            if let target = devicesDir.readLink(name) {
                let parts = target.split(separator: "/")
                if parts.count >= 2 { device.parent = PCIAddress(parts[parts.count - 2]) }
            }
            device.physicalFunction = dir.linkName("physfn").flatMap { PCIAddress($0) }
            if let total = dir.readInt("sriov_totalvfs") {
                var vfs: [(Int, PCIAddress)] = []
                for entry in dir.list() ?? [] where entry.hasPrefix("virtfn") {
                    if let n = Int(entry.dropFirst(6)), let vf = dir.linkName(entry).flatMap({ PCIAddress($0) }) {
                        vfs.append((n, vf))
                    }
                }
                device.sriov = PCIDevice.SRIOV(
                    totalVFs: total, numVFs: dir.readInt("sriov_numvfs") ?? 0,
                    driversAutoprobe: dir.readInt("sriov_drivers_autoprobe").map { $0 != 0 },
                    vfDeviceID: dir.readHex("sriov_vf_device").map { UInt16(truncatingIfNeeded: $0) },
                    virtualFunctions: vfs.sorted { $0.0 < $1.0 }.map(\.1))
            }
        }
        if let database { device.names = database.names(for: device, subsystem: fields.contains(.attributes)) }
        return device
    }

    public func readGroups() -> [Int: IOMMUGroup] {
        var groups: [Int: IOMMUGroup] = [:]
        guard let groupsDir = SysfsDirectory(root.iommuGroups) else { return groups }
        for name in groupsDir.list() ?? [] {
            guard let id = Int(name), id >= 0 else { continue }
            groups[id] = readGroup(id, in: groupsDir)
        }
        return groups
    }

    public func readGroup(_ id: Int) -> IOMMUGroup? {
        guard let groupsDir = SysfsDirectory(root.iommuGroups) else { return nil }
        return readGroup(id, in: groupsDir)
    }

    func readGroup(_ id: Int, in groupsDir: borrowing SysfsDirectory) -> IOMMUGroup? {
        guard let dir = SysfsDirectory(String(id), in: groupsDir), let entries = dir.list("devices") else { return nil }
        var members: [PCIAddress] = []
        var others: [String] = []
        for entry in entries {
            if let address = PCIAddress(entry) { members.append(address) } else { others.append(entry) }
        }
        return IOMMUGroup(
            id: id, members: members.sorted(), otherMembers: others.sorted(), type: dir.read("type"),
            reservedRegions: IOMMUGroup.parseReservedRegions(dir.read("reserved_regions") ?? ""))
    }
}
