import Synchronization
import SystemPackage
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// A stand-in for the kernel's PCI driver core, acting on a `FixtureHost` tree. It implements
/// the write seam (`SysfsWriting`) and module loading, and reacts to writes as Linux 6.x does
/// (docs/kernel-notes.md: viability, sysfs writes, SR-IOV), so bind/unbind logic can be tested without root or an IOMMU:
///
/// - `driver_override`: stores the value up to the first newline; `""` or `"\n"` clears it and
///   it then reads back `(null)`; EINVAL from PAGE_SIZE-1 bytes on.
/// - `drivers/<drv>/unbind` ← BDF: ENODEV unless the device is bound to `<drv>`; removes the
///   `driver` links, and for a VFIO driver `vfio-dev/` and (with the group's last VFIO member)
///   `/dev/vfio/N`.
/// - `drivers_probe` ← BDF: ENODEV for an unknown device; no-op if bound; otherwise tries the
///   override driver (any device matches an override) or the device's natural driver, and
///   returns success **even when nothing bound**, because the real one swallows probe errors.
///   EINVAL only when DMA ownership forbids the driver (a host DMA driver into a group that
///   userspace owns).
/// - `drivers/<drv>/bind` ← BDF: EBUSY if already bound, ENODEV on an override mismatch or when
///   the driver does not match (VFIO drivers match only through an override), EBUSY for DMA
///   ownership, and the probe's own error otherwise.
/// - VFIO probes fail with EINVAL for bridges (header type ≠ 0) and for devices without a group
///   unless no-IOMMU mode is on, and with EBUSY for an SR-IOV PF with VFs enabled; success
///   creates `vfio-dev/vfioN`, `/sys/class/vfio/N/dev` (510:N) and `/dev/vfio/N` (a regular
///   file unless a test made a char node; `noiommu-N` in no-IOMMU mode). The group's last VFIO
///   unbind removes the class device and the node.
/// - `sriov_numvfs` ← N: creates or removes VF directories as the kernel does (see `setNumVFs`).
/// - A 0-byte write is recorded and ignored, as sysfs ignores it.
/// - Failures can be injected per path, per probe and per unbind.
///
/// Every write is recorded (path, value, result) so tests can assert exact sequences.
public final class SimulatedKernel: SysfsWriting, ModuleLoading, NodeOwning, UdevControlling, @unchecked Sendable {
    public let host: FixtureHost

    /// One write as the kernel saw it.
    public struct RecordedWrite: Sendable, Equatable, CustomStringConvertible {
        public var path: String
        public var value: String
        /// nil: the write succeeded.
        public var errno: Errno?
        public var description: String { "\(value.debugDescription) > \(path)" + (errno.map { " (\(ErrnoName.name($0)))" } ?? "") }
    }

    /// A failure to inject.
    public enum Failure: Sendable {
        /// Writes to this host path fail with `errno` (before any effect). `value` narrows it.
        case write(path: String, value: String? = nil, errno: Errno)
        /// The probe of `address` by `driver` (nil: any driver) fails with `errno`. Through
        /// `drivers_probe` that is silent, as on the real kernel; through `bind` it is returned.
        case probe(PCIAddress, driver: String? = nil, errno: Errno)
        /// Unbinding `address` from its driver fails with `errno`.
        case unbind(PCIAddress, errno: Errno)
    }

    private struct Injected {
        var failure: Failure
        var remaining: Int?
    }

    private let mutex = Mutex(())
    private var _writes: [RecordedWrite] = []
    private var _loads: [String] = []
    private var naturalDrivers: [PCIAddress: String] = [:]
    private var vfDrivers: [PCIAddress: String] = [:]
    private var loadable: Set<String> = []
    private var injected: [Injected] = []
    private var userOwnedGroups: Set<Int> = []
    private var noiommuGroups: Set<Int> = []
    /// CONFIG_VFIO_GROUP: false for a kernel with the device cdev only (see `removeGroupInterface`).
    private var groupInterface = true
    private var afterWrite: (@Sendable (RecordedWrite) -> Void)?

    /// Binding by `drivers_probe` without an override picks each device's *natural* driver:
    /// initially the driver it was built with (none for devices built on a VFIO driver, since
    /// VFIO drivers only match through an override).
    public init(host: FixtureHost) {
        self.host = host
        for (address, spec) in host.specs {
            if let driver = spec.driver, !DriverName.isVFIO(driver) { naturalDrivers[address] = driver }
        }
        loadable = [DriverName.vfioPCI, "pci-stub"]
        if Sysfs.isDirectory(host.path + "/sys/bus/pci/drivers/vfio-pci") { vfioLoaded() }
        // Devices the fixture built on a VFIO driver get what the kernel would have made.
        for address in host.specs.keys.sorted() {
            let dir = host.devicePath(address)!
            for name in Sysfs.list(dir + "/vfio-dev") ?? [] {
                mkdirs(host.path + "/sys/class/vfio-dev")
                symlink(relative(from: host.path + "/sys/class/vfio-dev", to: dir + "/vfio-dev/" + name), host.path + "/sys/class/vfio-dev/" + name)
                if let group = Sysfs.linkName(dir + "/iommu_group") {
                    mkdirs(host.path + "/dev/vfio")
                    writeFile(host.path + "/dev/vfio/" + group, "")
                }
            }
        }
    }

    public var interface: KernelInterface { KernelInterface(writer: self, modules: self, nodes: self, udev: self) }

    /// How often `udevadm control --reload` was asked for.
    public var udevReloads: Int { mutex.withLock { _ in _udevReloads } }
    private var _udevReloads = 0

    public func reloadRules() throws(VFIOError) {
        mutex.withLock { _ in _udevReloads += 1 }
    }

    /// Every write so far, failed ones included.
    public var writes: [RecordedWrite] { mutex.withLock { _ in _writes } }
    /// Modules loaded so far.
    public var loads: [String] { mutex.withLock { _ in _loads } }

    public func setNaturalDriver(_ driver: String?, for address: PCIAddress) {
        mutex.withLock { _ in naturalDrivers[address] = driver }
    }

    /// Lets `modprobe name` succeed (vfio-pci and pci-stub can be loaded from the start).
    public func makeLoadable(_ module: String) { mutex.withLock { _ in _ = loadable.insert(module) } }
    public func makeUnloadable(_ module: String) { mutex.withLock { _ in _ = loadable.remove(module) } }

    /// Userspace owns group `id`'s DMA (as QEMU does once it has the group in a container):
    /// host DMA drivers can no longer probe its members.
    public func claimGroup(_ id: Int) { mutex.withLock { _ in _ = userOwnedGroups.insert(id) } }
    public func releaseGroup(_ id: Int) { mutex.withLock { _ in _ = userOwnedGroups.remove(id) } }

    /// Injects a failure, for `times` occurrences (nil: every time).
    public func inject(_ failure: Failure, times: Int? = nil) {
        mutex.withLock { _ in injected.append(Injected(failure: failure, remaining: times)) }
    }

    /// Runs after every write (e.g. to make something change concurrently).
    public func onWrite(_ body: (@Sendable (RecordedWrite) -> Void)?) { mutex.withLock { _ in afterWrite = body } }

    /// Acts as a kernel built with `CONFIG_VFIO_GROUP=n` (6.6+): no `vfio` class, no group
    /// nodes, no container `/dev/vfio/vfio`; a VFIO probe makes only the device's cdev
    /// `/dev/vfio/devices/vfioX`, and a device without an IOMMU group never binds (no-IOMMU
    /// mode needs the group interface).
    public func removeGroupInterface() {
        mutex.withLock { _ in groupInterface = false }
        removeTree(host.path + "/sys/class/vfio")
        unlink(host.path + "/dev/vfio/vfio")
        unlink(host.path + SysfsPaths.noiommuParameter)
        mkdirs(host.path + "/dev/vfio/devices")
    }

    // MARK: - NodeOwning

    /// One chown or chmod of a VFIO node.
    public struct NodeChange: Sendable, Equatable {
        public var path: String
        /// `chown UID:GID` or `chmod 0600`.
        public var change: String
    }

    private var _nodeChanges: [NodeChange] = []
    private var nodeFailures: [String: Errno] = [:]

    /// Every chown and chmod so far, in order.
    public var nodeChanges: [NodeChange] { mutex.withLock { _ in _nodeChanges } }

    /// chown and chmod of `path` fail with `errno` from now on.
    public func failNodeChanges(_ path: String, errno: Errno) { mutex.withLock { _ in nodeFailures[path] = errno } }

    /// Applied to the fixture's stand-in file, so `show` and `list` read the result back.
    public func setOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SysfsWriteError) {
        try changeNode(path, "chown \(uid):\(gid)") { lchown($0, uid, gid) }
    }

    public func setMode(_ path: String, mode: UInt32) throws(SysfsWriteError) {
        try changeNode(path, "chmod " + NodeOwner.octal(mode)) { chmod($0, mode_t(mode)) }
    }

    private func changeNode(_ path: String, _ change: String, _ body: (String) -> Int32) throws(SysfsWriteError) {
        let failure: Errno? = mutex.withLock { _ in
            _nodeChanges.append(NodeChange(path: path, change: change))
            return nodeFailures[path]
        }
        if let failure { throw SysfsWriteError(path: path, value: change, errno: failure) }
        guard body(host.path + path) == 0 else { throw SysfsWriteError(path: path, value: change, errno: Errno(rawValue: errno)) }
    }

    // MARK: - ModuleLoading

    public func load(_ module: String) throws(VFIOError) {
        let ok: Bool = mutex.withLock { _ in
            _loads.append(module)
            return loadable.contains(module)
        }
        guard ok else { throw .unavailable("cannot load \(module): modprobe: FATAL: Module \(module) not found") }
        host.ensureDriver(module)
        if DriverName.isVFIO(module) { vfioLoaded() }
    }

    private func vfioLoaded() {
        mkdirs(host.path + "/sys/class/vfio-dev")
        mkdirs(host.path + "/sys/module/vfio/parameters")
        mkdirs(host.path + "/dev/vfio")
        guard groupInterface else {
            mkdirs(host.path + "/dev/vfio/devices")
            return
        }
        if !Sysfs.exists(host.path + SysfsPaths.noiommuParameter) { writeFile(host.path + SysfsPaths.noiommuParameter, "N\n") }
        if !Sysfs.exists(host.path + "/dev/vfio/vfio") { writeFile(host.path + "/dev/vfio/vfio", "") }
    }

    // MARK: - SysfsWriting

    public func write(_ value: String, to path: String) throws(SysfsWriteError) {
        let result: Errno? = mutex.withLock { _ in apply(value, to: path) }
        let record = RecordedWrite(path: path, value: value, errno: result)
        let hook: (@Sendable (RecordedWrite) -> Void)? = mutex.withLock { _ in
            _writes.append(record)
            return afterWrite
        }
        hook?(record)
        if let result { throw SysfsWriteError(path: path, value: value, errno: result) }
    }

    /// Applies one write; returns the errno to fail with, or nil. Called with the mutex held.
    private func apply(_ value: String, to path: String) -> Errno? {
        if let errno = takeInjected({ if case .write(let p, let v, let e) = $0, p == path, v == nil || v == value { return e } else { return nil } }) {
            return errno
        }
        // No O_CREAT: a missing attribute is ENOENT.
        guard Sysfs.exists(host.path + path), !Sysfs.isDirectory(host.path + path) else { return Errno(rawValue: ENOENT) }
        // sysfs ignores a 0-byte write and reports success.
        if value.isEmpty { return nil }
        let parts = path.split(separator: "/").map(String.init)
        // /sys/bus/pci/devices/<bdf>/driver_override
        if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "devices"], parts[5] == "driver_override", let address = PCIAddress(parts[4]) {
            return storeOverride(value, address)
        }
        if path == SysfsPaths.driversProbe {
            guard let address = PCIAddress(value.trimmingWhitespace), host.devicePath(address) != nil else { return Errno(rawValue: ENODEV) }
            return probe(address)
        }
        // /sys/bus/pci/drivers/<drv>/{bind,unbind}
        if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "drivers"], parts[5] == "bind" || parts[5] == "unbind" {
            guard let address = PCIAddress(value.trimmingWhitespace), host.devicePath(address) != nil else { return Errno(rawValue: ENODEV) }
            return parts[5] == "bind" ? bind(address, to: parts[4]) : unbind(address, from: parts[4])
        }
        // /sys/bus/pci/devices/<pf>/sriov_numvfs
        if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "devices"], parts[5] == "sriov_numvfs", let pf = PCIAddress(parts[4]) {
            return setNumVFs(value, pf)
        }
        // /sys/bus/pci/devices/<vf>/sriov_vf_msix_count: EBUSY while the VF has a driver.
        if parts.count == 6, parts[0...3] == ["sys", "bus", "pci", "devices"], parts[5] == "sriov_vf_msix_count", let vf = PCIAddress(parts[4]) {
            guard currentDriver(vf) == nil else { return Errno(rawValue: EBUSY) }
            guard let n = Int(value.trimmingWhitespace), n >= 0 else { return Errno(rawValue: EINVAL) }
            writeFile(host.path + path, String(n) + "\n")
            return nil
        }
        // Anything else behaves as a plain attribute.
        writeFile(host.path + path, value)
        return nil
    }

    private func takeInjected(_ match: (Failure) -> Errno?) -> Errno? {
        for index in injected.indices {
            guard let errno = match(injected[index].failure) else { continue }
            if let remaining = injected[index].remaining {
                if remaining <= 0 { continue }
                injected[index].remaining = remaining - 1
            }
            return errno
        }
        return nil
    }

    private func deviceDir(_ address: PCIAddress) -> String { host.devicePath(address)! }

    private func currentDriver(_ address: PCIAddress) -> String? { Sysfs.linkName(deviceDir(address) + "/driver") }

    private func currentOverride(_ address: PCIAddress) -> String? {
        let text = Sysfs.read(deviceDir(address) + "/driver_override")
        return text == nil || text == "(null)" ? nil : text
    }

    private func storeOverride(_ value: String, _ address: PCIAddress) -> Errno? {
        // driver_set_override: EINVAL from PAGE_SIZE-1; strlen() then cut at the first newline.
        guard value.utf8.count < 4095 else { return Errno(rawValue: EINVAL) }
        var text = value.split(separator: "\0", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        text = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        writeFile(deviceDir(address) + "/driver_override", (text.isEmpty ? "(null)" : text) + "\n")
        return nil
    }

    private func unbind(_ address: PCIAddress, from driver: String) -> Errno? {
        guard currentDriver(address) == driver else { return Errno(rawValue: ENODEV) }
        if let errno = takeInjected({ if case .unbind(let a, let e) = $0, a == address { return e } else { return nil } }) {
            return errno
        }
        let dir = deviceDir(address)
        host.detachDriver(address)
        writeFile(dir + "/enable", "0\n")
        if DriverName.isVFIO(driver) {
            for name in Sysfs.list(dir + "/vfio-dev") ?? [] {
                unlink(host.path + "/sys/class/vfio-dev/" + name)
                unlink(host.path + "/dev/vfio/devices/" + name)
            }
            removeTree(dir + "/vfio-dev")
            if let group = Sysfs.linkName(dir + "/iommu_group").flatMap({ Int($0) }) {
                let othersBound = groupMembers(group).contains { $0 != address && Sysfs.isDirectory(deviceDir($0) + "/vfio-dev") }
                if !othersBound {
                    removeTree(host.path + "/sys/class/vfio/" + String(group))
                    removeTree(host.path + "/sys/class/vfio/noiommu-" + String(group))
                    unlink(host.path + "/dev/vfio/" + String(group))
                    unlink(host.path + "/dev/vfio/noiommu-" + String(group))
                    if noiommuGroups.remove(group) != nil {
                        // vfio made this group for the device; it goes with the device.
                        removeTree(host.path + "/sys/kernel/iommu_groups/" + String(group))
                        unlink(dir + "/iommu_group")
                    }
                }
            }
        }
        return nil
    }

    private func probe(_ address: PCIAddress) -> Errno? {
        guard currentDriver(address) == nil else { return nil }
        let candidate: String?
        if let override = currentOverride(address) {
            candidate = override
        } else if autoprobeBlocked(address) {
            // A VF of a PF with sriov_drivers_autoprobe=0 only probes with an override.
            candidate = nil
        } else {
            candidate = naturalDrivers[address]
        }
        guard let candidate, Sysfs.isDirectory(host.path + SysfsPaths.driverDirectory(candidate)) else { return nil }
        switch attach(address, candidate) {
        case .none: return nil
        case .dmaOwnership: return Errno(rawValue: EINVAL)  // drivers_probe_store maps every negative result to EINVAL
        case .probeFailed: return nil  // swallowed: __device_attach_driver returns ret == 0
        }
    }

    private func bind(_ address: PCIAddress, to driver: String) -> Errno? {
        guard currentDriver(address) == nil else { return Errno(rawValue: EBUSY) }
        if let override = currentOverride(address) {
            guard override == driver else { return Errno(rawValue: ENODEV) }
        } else if naturalDrivers[address] != driver || DriverName.isVFIO(driver) || autoprobeBlocked(address) {
            return Errno(rawValue: ENODEV)
        }
        switch attach(address, driver) {
        case .none: return nil
        case .dmaOwnership: return Errno(rawValue: EBUSY)
        case .probeFailed(let errno): return errno
        }
    }

    private enum AttachResult {
        case none
        case dmaOwnership
        case probeFailed(Errno)
    }

    /// really_probe: DMA configuration first, then the driver's probe.
    private func attach(_ address: PCIAddress, _ driver: String) -> AttachResult {
        let dir = deviceDir(address)
        let group = Sysfs.linkName(dir + "/iommu_group").flatMap { Int($0) }
        let managed = DriverName.isVFIO(driver) || DriverName.dmaManagedHostDrivers.contains(driver)
        if !managed, let group, userOwnedGroups.contains(group) { return .dmaOwnership }
        if let errno = takeInjected({
            if case .probe(let a, let d, let e) = $0, a == address, d == nil || d == driver { return e } else { return nil }
        }) {
            return .probeFailed(errno)
        }
        if DriverName.isVFIO(driver) {
            let config = Sysfs.readBytes(dir + "/config", limit: 64) ?? []
            if config.count > 0x0e, config[0x0e] & 0x7f != 0 { return .probeFailed(Errno(rawValue: EINVAL)) }
            if let numVFs = Sysfs.readInt(dir + "/sriov_numvfs"), numVFs > 0 { return .probeFailed(Errno(rawValue: EBUSY)) }
            var groupID = group
            if groupID == nil {
                guard groupInterface, Sysfs.read(host.path + SysfsPaths.noiommuParameter) == "Y" else { return .probeFailed(Errno(rawValue: EINVAL)) }
                let id = ((Sysfs.list(host.path + "/sys/kernel/iommu_groups") ?? []).compactMap { Int($0) }.max() ?? -1) + 1
                host.addToGroup(id, address)
                writeFile(host.path + "/sys/kernel/iommu_groups/" + String(id) + "/name", "vfio-noiommu\n")
                noiommuGroups.insert(id)
                groupID = id
            }
            host.attachDriver(address, driver)
            let index = nextVFIOIndex()
            let noiommu = noiommuGroups.contains(groupID!)
            mkdirs(dir + "/vfio-dev/vfio" + String(index))
            // vfio_device_add: a no-IOMMU device gets no cdev, so no `dev` attribute either.
            if !noiommu { writeFile(dir + "/vfio-dev/vfio" + String(index) + "/dev", "511:" + String(index) + "\n") }
            mkdirs(host.path + "/sys/class/vfio-dev")
            symlink(
                relative(from: host.path + "/sys/class/vfio-dev", to: dir + "/vfio-dev/vfio" + String(index)),
                host.path + "/sys/class/vfio-dev/vfio" + String(index))
            mkdirs(host.path + "/dev/vfio")
            // A kernel with VFIO_DEVICE_CDEV (a fixture that has /dev/vfio/devices) makes the cdev too.
            if !noiommu, Sysfs.isDirectory(host.path + "/dev/vfio/devices") {
                writeFile(host.path + "/dev/vfio/devices/vfio" + String(index), "")
                chmod(host.path + "/dev/vfio/devices/vfio" + String(index), 0o600)
            }
            guard groupInterface else { return .none }
            let node = noiommu ? "noiommu-" + String(groupID!) : String(groupID!)
            if !Sysfs.exists(host.path + "/dev/vfio/" + node) {
                writeFile(host.path + "/dev/vfio/" + node, "")
                chmod(host.path + "/dev/vfio/" + node, 0o600)
            }
            // The group's class device, with the number a fixture node for it uses (510:N).
            if !Sysfs.exists(host.path + "/sys/class/vfio/" + node + "/dev") {
                mkdirs(host.path + "/sys/class/vfio/" + node)
                writeFile(host.path + "/sys/class/vfio/" + node + "/dev", "510:" + String(groupID!) + "\n")
            }
            return .none
        }
        host.attachDriver(address, driver)
        writeFile(dir + "/enable", "1\n")
        return .none
    }

    // MARK: - SR-IOV

    /// `sriov_numvfs_store()`: ERANGE above sriov_totalvfs, nothing for the same count, ENOENT
    /// without a PF driver, EBUSY from one non-zero count to another. Enabling adds the VFs at
    /// offset + n × stride, each in a group of its own, and probes them unless autoprobe is
    /// off; disabling unbinds and removes them.
    private func setNumVFs(_ value: String, _ pf: PCIAddress) -> Errno? {
        let dir = deviceDir(pf)
        guard let count = Int(value.trimmingWhitespace), count >= 0 else { return Errno(rawValue: EINVAL) }
        guard let total = Sysfs.readInt(dir + "/sriov_totalvfs"), count <= total else { return Errno(rawValue: ERANGE) }
        let current = Sysfs.readInt(dir + "/sriov_numvfs") ?? 0
        if count == current { return nil }
        guard currentDriver(pf) != nil else { return Errno(rawValue: ENOENT) }
        if count == 0 {
            let vfs = (Sysfs.list(dir) ?? []).filter { $0.hasPrefix("virtfn") }.compactMap { Sysfs.linkName(dir + "/" + $0).flatMap { PCIAddress($0) } }
            for vf in vfs {
                if let driver = currentDriver(vf) { _ = unbind(vf, from: driver) }
                host.remove(vf)
            }
            writeFile(dir + "/sriov_numvfs", "0\n")
            return nil
        }
        guard current == 0 else { return Errno(rawValue: EBUSY) }
        let offset = Sysfs.readInt(dir + "/sriov_offset") ?? 1
        let stride = Sysfs.readInt(dir + "/sriov_stride") ?? 1
        guard let addresses = VFLayout(offset: offset, stride: stride).addresses(of: pf, count: count), let spec = host.specs[pf] else {
            return Errno(rawValue: EINVAL)
        }
        let vfDevice = Sysfs.readHex(dir + "/sriov_vf_device").map { UInt16(truncatingIfNeeded: $0) } ?? spec.device
        var nextGroup = ((Sysfs.list(host.path + "/sys/kernel/iommu_groups") ?? []).compactMap { Int($0) }.max() ?? -1) + 1
        writeFile(dir + "/sriov_numvfs", String(count) + "\n")
        for vf in addresses {
            var device = FixtureDevice(
                vf.description, vendor: spec.vendor, device: vfDevice, classCode: spec.classCode, group: nextGroup, parent: spec.parent?.description)
            device.physicalFunction = pf
            device.resetMethods = ["flr"]
            nextGroup += 1
            host.add(device)
            // sriov_vf_msix_count exists where the PF's driver can set it (sriov_vf_total_msix).
            if Sysfs.exists(dir + "/sriov_vf_total_msix") { writeFile(deviceDir(vf) + "/sriov_vf_msix_count", "0\n") }
            if !autoprobeBlocked(vf), let driver = vfDrivers[pf], Sysfs.isDirectory(host.path + SysfsPaths.driverDirectory(driver)) {
                naturalDrivers[vf] = driver
                _ = attach(vf, driver)
            }
        }
        return nil
    }

    /// The host driver that probes `pf`'s new VFs when autoprobe is on (e.g. `iavf`, `nvme`).
    public func setVFDriver(_ driver: String?, for pf: PCIAddress) {
        mutex.withLock { _ in vfDrivers[pf] = driver }
    }

    private func nextVFIOIndex() -> Int {
        let used = Set((Sysfs.list(host.path + "/sys/class/vfio-dev") ?? []).compactMap { Int($0.dropFirst(4)) })
        var index = 0
        while used.contains(index) { index += 1 }
        return index
    }

    private func autoprobeBlocked(_ address: PCIAddress) -> Bool {
        guard let pf = Sysfs.linkName(deviceDir(address) + "/physfn").flatMap({ PCIAddress($0) }), let pfDir = host.devicePath(pf) else {
            return false
        }
        return Sysfs.readInt(pfDir + "/sriov_drivers_autoprobe") == 0
    }

    private func groupMembers(_ id: Int) -> [PCIAddress] {
        (Sysfs.list(host.path + "/sys/kernel/iommu_groups/" + String(id) + "/devices") ?? []).compactMap { PCIAddress($0) }
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
