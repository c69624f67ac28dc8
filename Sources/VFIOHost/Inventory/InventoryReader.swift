import VFIOModel
import VFIOParallel

/// Reads a `HostInventory` from sysfs under a root prefix. This and the sysfs writer are the only
/// places that know sysfs file names.
public struct InventoryReader {
    public let root: HostRoot
    public let database: PCIDatabase?
    public let fields: Fields

    public typealias Fields = InventoryFields

    /// Threads to read with; nil picks by host size and CPUs (`Parallel.threads(for:)`).
    public var threads: Int?

    /// Whether a device directory's listing decides which optional attributes to read (false:
    /// try to read every one, as without a listing; tests compare the two).
    var listsDeviceDirectories = true

    public init(root: HostRoot, database: PCIDatabase?, fields: Fields = .all, threads: Int? = nil) {
        self.root = root
        self.database = database
        self.fields = fields
        self.threads = threads
    }

    /// - Throws: `.unavailable` when there is no `/sys/bus/pci/devices` at all.
    public func read() throws(VFIOError) -> HostInventory {
        let (addresses, groupIDs, noIOMMU) = try listTopLevel()
        let readsGroups = fields.contains(.groupDetails)
        database?.preloadNames()

        // Devices, then groups, as one list of independent reads spread over a few threads. Each
        // slot is written by exactly one thread; libpci (not thread-safe) is used afterwards.
        let items = addresses.count + (readsGroups ? groupIDs.count : 0)
        var readDevices = [(device: PCIDevice, groupLinkUnread: Bool)?](repeating: nil, count: addresses.count)
        var readGroups = [IOMMUGroup?](repeating: nil, count: readsGroups ? groupIDs.count : 0)
        readDevices.withUnsafeMutableBufferPointer { deviceSlots in
            readGroups.withUnsafeMutableBufferPointer { groupSlots in
                // Chunks from a shared cursor rather than fixed halves (a group costs a fraction
                // of a function, so fixed slices left the thread with the groups idle), up to 64
                // and at least four per thread, so a small host split over threads still is.
                let threads = threads ?? Parallel.threads(for: items)
                Parallel.forEachChunk(items, threads: threads, chunk: max(1, min(64, items / (threads * 4)))) { range in
                    let deviceRange = range.clamped(to: 0..<addresses.count)
                    if !deviceRange.isEmpty, let devicesDir = SysfsDirectory(root.pciDevices) {
                        for i in deviceRange { deviceSlots[i] = readSysfs(addresses[i], in: devicesDir, groupsListed: readsGroups) }
                    }
                    let groupRange = range.clamped(to: addresses.count..<items)
                    if !groupRange.isEmpty, let groupsDir = SysfsDirectory(root.iommuGroups) {
                        for i in groupRange {
                            let id = groupIDs[i - addresses.count]
                            groupSlots[i - addresses.count] = readGroup(id, in: groupsDir, noIOMMU: noIOMMU.contains(id))
                        }
                    }
                }
            }
        }
        let (indexed, groupOf) = readsGroups ? Self.index(readGroups, functions: addresses.count) : ([:], [:])
        var groups = indexed
        var devices: [PCIDevice] = []
        devices.reserveCapacity(addresses.count)
        let persisted = driverctlOverrides()
        // Moved out of their slots (`take`), not copied: a device is a few dozen fields.
        for i in readDevices.indices {
            guard case (var device, let groupLinkUnread)? = readDevices[i].take() else { continue }
            if readsGroups {
                device.iommuGroup = groupOf[device.address]
                // Not in any listing (its group appeared or went mid-read): ask the link.
                if device.iommuGroup == nil, groupLinkUnread {
                    device.iommuGroup = Sysfs.linkName(root.device(device.address) + "/iommu_group").flatMap { Int($0) }
                }
            }
            if let database { device.names = database.names(for: device, subsystem: fields.contains(.attributes)) }
            device.driverctlOverride = persisted[device.address]
            devices.append(device)
        }
        if !readsGroups { groups = groupsFromLinks(groupIDs, devices) }
        var inventory = HostInventory(devices: consume devices, groups: groups, iommuEnabled: !groups.isEmpty)
        if fields.contains(.vfioDrivers) { inventory.vfioAliases = ModuleAliasReader.read(root: root) }
        return inventory
    }

    /// The two big listings at once, on two threads (thousands of entries each): the PCI
    /// functions in address order, the IOMMU groups, and which of those are vfio's no-IOMMU ones.
    func listTopLevel() throws(VFIOError) -> (addresses: [PCIAddress], groupIDs: [Int], noIOMMU: Set<Int>) {
        var listed: [PCIAddress]?
        var groupIDs: [Int] = []
        var noIOMMU: Set<Int> = []
        Parallel.forEachSlice(2, threads: 2) { slice, _ in
            if slice == 0 {
                // Entries are kernel-made names; anything that is not an address is skipped, so
                // no path is ever built from an unvalidated name. In address order (sysfs lists
                // them by its own hash order), so the devices come out sorted and the inventory
                // need not sort a few thousand large values.
                listed = SysfsDirectory(root.pciDevices)?.list()?.compactMap { PCIAddress($0) }.sorted()
            } else {
                groupIDs = (Sysfs.list(root.iommuGroups) ?? []).compactMap { Int($0) }.filter { $0 >= 0 }
                noIOMMU = groupIDs.isEmpty ? [] : noIOMMUGroups()
            }
        }
        guard let addresses = listed else {
            throw .unavailable("cannot read \(root.pciDevices): no PCI bus (is sysfs mounted?)", target: root.pciDevices)
        }
        return (addresses, groupIDs, noIOMMU)
    }

    /// With the groups' listings read, a function's group is the one whose `devices/` names it
    /// (the kernel adds the `iommu_group` link and that entry together).
    static func index(_ read: [IOMMUGroup?], functions: Int) -> (groups: [Int: IOMMUGroup], groupOf: [PCIAddress: Int]) {
        var groups: [Int: IOMMUGroup] = [:]
        var groupOf: [PCIAddress: Int] = [:]
        groups.reserveCapacity(read.count)
        groupOf.reserveCapacity(functions)
        for case let group? in read {
            groups[group.id] = group
            for member in group.members { groupOf[member] = group.id }
        }
        return (groups, groupOf)
    }

    /// The groups `/sys/kernel/iommu_groups` lists, with the PCI members whose `iommu_group`
    /// link names them (sorted), and no details.
    func groupsFromLinks(_ ids: [Int], _ devices: [PCIDevice]) -> [Int: IOMMUGroup] {
        var groups: [Int: IOMMUGroup] = [:]
        let noIOMMU: Set<Int> = ids.isEmpty ? [] : noIOMMUGroups()
        for id in ids { groups[id] = IOMMUGroup(id: id, members: [], noIOMMU: noIOMMU.contains(id)) }
        for device in devices {
            guard let id = device.iommuGroup else { continue }
            groups[id]?.members.append(device.address)
        }
        for id in groups.keys { groups[id]?.members.sort() }
        return groups
    }

    /// vfio's no-IOMMU groups from one directory read: their class devices are noiommu-N
    /// (group.c), made and removed with the group vfio names `vfio-noiommu`, so no group's
    /// `name` attribute (absent on every other group) needs trying.
    func noIOMMUGroups() -> Set<Int> {
        Set((Sysfs.list(root.path("/sys/class/vfio")) ?? []).compactMap { $0.hasPrefix("noiommu-") ? Int($0.dropFirst(8)) : nil })
    }

    /// Reads one function; nil if it vanished or is not a readable PCI device directory.
    public func readDevice(_ address: PCIAddress) -> PCIDevice? {
        guard let devicesDir = SysfsDirectory(root.pciDevices), var device = readSysfs(address, in: devicesDir, groupsListed: false)?.device
        else { return nil }
        if let database { device.names = database.names(for: device, subsystem: fields.contains(.attributes)) }
        return device
    }

    /// Reads one function's sysfs attributes (no names) relative to an open
    /// `/sys/bus/pci/devices`: the device directory is opened once (through the bus symlink)
    /// and every attribute is read relative to it. Safe to call from several threads.
    ///
    /// What it reads, per function: `uevent` (ids, class, subsystem ids and the driver) and the
    /// `iommu_group` link for the table; with `.attributes` or `.topology`, one `getdents64` of
    /// the directory first, so that attributes and links the kernel does not show for this
    /// function are not tried, and no `iommu_group` link when the groups' `devices/` listings
    /// are read anyway (`groupsListed`: the caller assigns groups from them and reads the link
    /// only for a function no listing named, `groupLinkUnread`).
    func readSysfs(
        _ address: PCIAddress, in devicesDir: borrowing SysfsDirectory, groupsListed: Bool
    ) -> (device: PCIDevice, groupLinkUnread: Bool)? {
        let name = address.description
        guard let dir = SysfsDirectory(name, in: devicesDir) else { return nil }
        let entries = !listsDeviceDirectories || fields.isDisjoint(with: [.attributes, .topology]) ? nil : DeviceEntries(listing: dir)
        /// Whether `entry` may exist: the listing says so, or there is no listing.
        func shown(_ entry: DeviceEntries.Name) -> Bool { entries?.has(entry) ?? true }
        // One read of `uevent` gives ids, class and driver; each attribute is the fallback
        // (fixture trees without `uevent`, a line the kernel did not print).
        let uevent = shown(.uevent) ? dir.withBytes("uevent") { $0.map { PCIUevent($0) } } : nil
        guard let vendor = uevent?.vendor.map(UInt32.init) ?? dir.readHex("vendor"),
            let deviceID = uevent?.device.map(UInt32.init) ?? dir.readHex("device")
        else { return nil }
        let classCode = uevent?.classCode ?? (shown(.classCode) ? dir.readHex("class") : nil) ?? 0
        var device = PCIDevice(
            address: address, vendorID: UInt16(truncatingIfNeeded: vendor), deviceID: UInt16(truncatingIfNeeded: deviceID),
            classCode: classCode & 0xff_ffff)
        if !shown(.driver) {
            device.driver = nil
        } else if let uevent, uevent.vendor != nil {
            // The kernel's uevent names the driver exactly while the `driver` link exists (both
            // are made and removed with `dev->driver`), so no `DRIVER=` line means unbound.
            device.driver = uevent.driver
        } else {
            device.driver = dir.linkName("driver")
        }
        var groupLinkUnread = false
        if groupsListed {
            groupLinkUnread = shown(.iommuGroup)
        } else if shown(.iommuGroup) {
            device.iommuGroup = dir.linkName("iommu_group").flatMap { Int($0) }
        }
        // `vfio-dev/` exists only while a VFIO driver is bound, so an unbound function has none.
        if entries.map({ $0.has(.vfioDev) }) ?? (device.driver != nil) {
            device.vfioDeviceName = dir.list("vfio-dev")?.sorted().first
        }
        if fields.contains(.attributes) { readAttributes(into: &device, from: dir, uevent: uevent, shown: shown) }
        if fields.contains(.topology) { readTopology(into: &device, from: dir, name: name, in: devicesDir, entries: entries) }
        return (device, groupLinkUnread)
    }

    /// The attributes beyond identity and binding (`.attributes`).
    func readAttributes(
        into device: inout PCIDevice, from dir: borrowing SysfsDirectory, uevent: PCIUevent?, shown: (DeviceEntries.Name) -> Bool
    ) {
        device.subsystemVendorID =
            uevent?.subsystemVendor ?? (shown(.subsystemVendor) ? dir.readHex("subsystem_vendor").map { UInt16(truncatingIfNeeded: $0) } : nil)
        device.subsystemDeviceID =
            uevent?.subsystemDevice ?? (shown(.subsystemDevice) ? dir.readHex("subsystem_device").map { UInt16(truncatingIfNeeded: $0) } : nil)
        // Byte 0x0E of config space is the header type, bit 7 the multi-function flag; byte 0x08
        // the revision, which the kernel's `revision` attribute shows from the same byte (read
        // into pci_dev at enumeration), so one read gives both, as lspci takes it. The first 64
        // bytes are readable without CAP_SYS_ADMIN; only 16 are read, because on a real device
        // each dword is a config cycle to the hardware.
        if shown(.config) {
            dir.withBytes("config", limit: 16) { config in
                guard let config, config.count > 0x0E else { return }
                device.revision = config[0x08]
                device.headerType = config[0x0E] & 0x7f
                device.multiFunction = config[0x0E] & 0x80 != 0
            }
        }
        if device.revision == nil, shown(.revision) { device.revision = dir.readHex("revision").map { UInt8(truncatingIfNeeded: $0) } }
        if shown(.driverOverride), let override = dir.read("driver_override"), override != "(null)", !override.isEmpty {
            device.driverOverride = override
        }
        if shown(.numaNode) { device.numaNode = dir.readInt("numa_node") }
        if shown(.resetMethod), let methods = dir.read("reset_method") {
            device.resetMethods = methods.split(separator: " ").map(String.init)
        }
        if shown(.bootVGA) { device.bootVGA = dir.readInt("boot_vga").map { $0 != 0 } }
        if shown(.enable) { device.enableCount = dir.readInt("enable") }
    }

    /// Where the function sits: its upstream bridge, its PF, its VFs (`.topology`).
    func readTopology(
        into device: inout PCIDevice, from dir: borrowing SysfsDirectory, name: String, in devicesDir: borrowing SysfsDirectory,
        entries: DeviceEntries?
    ) {
        // /sys/bus/pci/devices/BDF links to /sys/devices/pci0000:00/<upstream…>/BDF; the
        // component before the last is the upstream bridge when it is a PCI address.
        if let target = devicesDir.readLink(name) { device.parent = Self.parentComponent(target).flatMap { PCIAddress($0) } }
        if entries?.has(.physfn) ?? true { device.physicalFunction = dir.linkName("physfn").flatMap { PCIAddress($0) } }
        guard entries?.has(.sriovTotalVFs) ?? true, let total = dir.readInt("sriov_totalvfs") else { return }
        var vfs: [(Int, PCIAddress)] = []
        let links =
            entries?.virtualFunctionLinks
            ?? (dir.list() ?? []).compactMap { entry -> (Int, String)? in
                guard entry.hasPrefix("virtfn"), let n = Int(entry.dropFirst(6)) else { return nil }
                return (n, entry)
            }
        for (n, entry) in links {
            if let vf = dir.linkName(entry).flatMap({ PCIAddress($0) }) { vfs.append((n, vf)) }
        }
        func shown(_ entry: DeviceEntries.Name) -> Bool { entries?.has(entry) ?? true }
        device.sriov = PCIDevice.SRIOV(
            totalVFs: total, numVFs: (shown(.sriovNumVFs) ? dir.readInt("sriov_numvfs") : nil) ?? 0,
            driversAutoprobe: shown(.sriovDriversAutoprobe) ? dir.readInt("sriov_drivers_autoprobe").map { $0 != 0 } : nil,
            vfDeviceID: shown(.sriovVFDevice) ? dir.readHex("sriov_vf_device").map { UInt16(truncatingIfNeeded: $0) } : nil,
            virtualFunctions: vfs.sorted { $0.0 < $1.0 }.map(\.1))
    }

    /// The component before the last of a link target (`../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0`
    /// gives `0000:00:01.0`), empty components skipped; found without splitting the whole path.
    static func parentComponent(_ target: String) -> Substring? {
        // The last component of what comes before the last one.
        let whole = Substring(target)
        guard let last = Sysfs.lastComponent(of: whole) else { return nil }
        return Sysfs.lastComponent(of: whole[..<last.startIndex])
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

    /// - Parameter noIOMMU: whether vfio made the group in no-IOMMU mode, when the caller
    ///   knows (`noIOMMUGroups`); nil reads the group's `name`.
    func readGroup(_ id: Int, in groupsDir: borrowing SysfsDirectory, noIOMMU: Bool? = nil) -> IOMMUGroup? {
        // Paths relative to the groups directory: no per-group directory descriptor to open and close.
        let name = String(id)
        guard let entries = groupsDir.list(name + "/devices") else { return nil }
        var members: [PCIAddress] = []
        var others: [String] = []
        for entry in entries {
            if let address = PCIAddress(entry) { members.append(address) } else { others.append(entry) }
        }
        return IOMMUGroup(
            id: id, members: members.sorted(), otherMembers: others.sorted(), type: groupsDir.read(name + "/type"),
            reservedRegions: groupsDir.withBytes(name + "/reserved_regions") { bytes in
                bytes.map { IOMMUGroup.parseReservedRegions(bytes: $0.assumingMemoryBound(to: UInt8.self)) } ?? []
            },
            noIOMMU: noIOMMU ?? (groupsDir.read(name + "/name") == IOMMUGroup.noIOMMUName))
    }
}
