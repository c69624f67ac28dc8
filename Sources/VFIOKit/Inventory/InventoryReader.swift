/// Reads a `HostInventory` from sysfs under a root prefix. This and the sysfs writer are the only
/// places that know sysfs file names.
public struct InventoryReader {
    public let root: HostRoot
    public let database: PCIDatabase?

    public init(root: HostRoot, database: PCIDatabase?) {
        self.root = root
        self.database = database
    }

    /// - Throws: `.unavailable` when there is no `/sys/bus/pci/devices` at all.
    public func read() throws(VFIOError) -> HostInventory {
        guard let names = Sysfs.list(root.pciDevices) else {
            throw .unavailable("cannot read \(root.pciDevices): no PCI bus (is sysfs mounted?)")
        }
        var devices: [PCIDevice] = []
        devices.reserveCapacity(names.count)
        let persisted = driverctlOverrides()
        for name in names {
            // Entries are kernel-made names; anything that is not an address is skipped, so no
            // path is ever built from an unvalidated name.
            guard let address = PCIAddress(name), var device = readDevice(address) else { continue }
            device.driverctlOverride = persisted[address]
            devices.append(device)
        }
        let groups = readGroups()
        return HostInventory(devices: devices, groups: groups, iommuEnabled: !groups.isEmpty)
    }

    /// Reads one function; nil if it vanished or is not a readable PCI device directory.
    public func readDevice(_ address: PCIAddress) -> PCIDevice? {
        let dir = root.device(address)
        guard let vendor = Sysfs.readHex(dir + "/vendor"), let deviceID = Sysfs.readHex(dir + "/device") else { return nil }
        let classCode = Sysfs.readHex(dir + "/class") ?? 0
        var device = PCIDevice(
            address: address, vendorID: UInt16(truncatingIfNeeded: vendor), deviceID: UInt16(truncatingIfNeeded: deviceID),
            classCode: classCode & 0xff_ffff)
        device.subsystemVendorID = Sysfs.readHex(dir + "/subsystem_vendor").map { UInt16(truncatingIfNeeded: $0) }
        device.subsystemDeviceID = Sysfs.readHex(dir + "/subsystem_device").map { UInt16(truncatingIfNeeded: $0) }
        device.revision = Sysfs.readHex(dir + "/revision").map { UInt8(truncatingIfNeeded: $0) }
        // The first 64 bytes of config space are readable without CAP_SYS_ADMIN; byte 0x0E is the
        // header type, bit 7 the multi-function flag.
        if let config = Sysfs.readBytes(dir + "/config", limit: 64), config.count > 0x0E {
            device.headerType = config[0x0E] & 0x7f
            device.multiFunction = config[0x0E] & 0x80 != 0
        }
        device.driver = Sysfs.linkName(dir + "/driver")
        if let override = Sysfs.read(dir + "/driver_override"), override != "(null)", !override.isEmpty {
            device.driverOverride = override
        }
        device.iommuGroup = Sysfs.linkName(dir + "/iommu_group").flatMap { Int($0) }
        device.numaNode = Sysfs.readInt(dir + "/numa_node")
        if let methods = Sysfs.read(dir + "/reset_method") {
            device.resetMethods = methods.split(separator: " ").map(String.init)
        }
        device.bootVGA = Sysfs.readInt(dir + "/boot_vga").map { $0 != 0 }
        device.enableCount = Sysfs.readInt(dir + "/enable")
        device.vfioDeviceName = Sysfs.list(dir + "/vfio-dev")?.sorted().first
        // /sys/bus/pci/devices/BDF links to /sys/devices/pci0000:00/<upstream…>/BDF; the
        // component before the last is the upstream bridge when it is a PCI address.
        if let target = Sysfs.readLink(dir) {
            let parts = target.split(separator: "/")
            if parts.count >= 2 { device.parent = PCIAddress(parts[parts.count - 2]) }
        }
        device.physicalFunction = Sysfs.linkName(dir + "/physfn").flatMap { PCIAddress($0) }
        if let total = Sysfs.readInt(dir + "/sriov_totalvfs") {
            var vfs: [(Int, PCIAddress)] = []
            for entry in Sysfs.list(dir) ?? [] where entry.hasPrefix("virtfn") {
                if let n = Int(entry.dropFirst(6)), let vf = Sysfs.linkName(dir + "/" + entry).flatMap({ PCIAddress($0) }) {
                    vfs.append((n, vf))
                }
            }
            device.sriov = PCIDevice.SRIOV(
                totalVFs: total, numVFs: Sysfs.readInt(dir + "/sriov_numvfs") ?? 0,
                driversAutoprobe: Sysfs.readInt(dir + "/sriov_drivers_autoprobe").map { $0 != 0 },
                vfDeviceID: Sysfs.readHex(dir + "/sriov_vf_device").map { UInt16(truncatingIfNeeded: $0) },
                virtualFunctions: vfs.sorted { $0.0 < $1.0 }.map(\.1))
        }
        if let database { device.names = database.names(for: device) }
        return device
    }

    /// driverctl's persisted overrides: `/etc/driverctl.d/pci-<address>` holds the driver name.
    public func driverctlOverrides() -> [PCIAddress: String] {
        let dir = root.path("/etc/driverctl.d")
        var result: [PCIAddress: String] = [:]
        for name in Sysfs.list(dir) ?? [] where name.hasPrefix("pci-") {
            guard let address = PCIAddress(name.dropFirst(4)), let driver = Sysfs.read(dir + "/" + name), !driver.isEmpty else { continue }
            result[address] = String(driver.split(separator: "\n").first ?? "")
        }
        return result
    }

    public func readGroups() -> [Int: IOMMUGroup] {
        var groups: [Int: IOMMUGroup] = [:]
        for name in Sysfs.list(root.iommuGroups) ?? [] {
            guard let id = Int(name), id >= 0 else { continue }
            groups[id] = readGroup(id)
        }
        return groups
    }

    public func readGroup(_ id: Int) -> IOMMUGroup? {
        let dir = root.group(id)
        guard let entries = Sysfs.list(dir + "/devices") else { return nil }
        var members: [PCIAddress] = []
        var others: [String] = []
        for entry in entries {
            if let address = PCIAddress(entry) { members.append(address) } else { others.append(entry) }
        }
        return IOMMUGroup(
            id: id, members: members.sorted(), otherMembers: others.sorted(), type: Sysfs.read(dir + "/type"),
            reservedRegions: IOMMUGroup.parseReservedRegions(Sysfs.read(dir + "/reserved_regions") ?? ""))
    }
}
