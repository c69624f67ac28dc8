import SystemPackage
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway host tree (`/sys`, `/proc`, `/dev`, `/run`, `/etc`) laid out as the kernel lays
/// out sysfs: real device directories under `/sys/devices/pci0000:00/…`, relative symlinks from
/// `/sys/bus/pci/devices`, `driver` and `iommu_group` links, and a `config` file per function
/// that libpci reads as it reads a real host. Removed when the value is released.
public final class FixtureHost: @unchecked Sendable {
    public let path: String
    public var root: HostRoot { HostRoot(FilePath(path)) }
    private var devicePaths: [PCIAddress: String] = [:]
    public private(set) var specs: [PCIAddress: FixtureDevice] = [:]
    /// The character nodes of this tree, which are plain files (see `makeCharNode`).
    let nodes = StandInNodes()

    /// What this tree's nodes stand for; give it to every holder scan of this root
    /// (`HolderFinder`, `HolderWaiter`, `CommandServices`).
    public var deviceNumbers: DeviceNumbers {
        .withStandIns { [nodes] in nodes.number(of: $0) }
    }

    public init() {
        // $TMPDIR when set (the benchmarks put fixtures on a tmpfs, as /run is on a real host).
        let base = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
        var template = Array((base + "/vfioctl-fixture-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed")
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        for dir in [
            "/sys/bus/pci/devices", "/sys/bus/pci/drivers", "/sys/kernel/iommu_groups", "/sys/devices", "/sys/class/iommu",
            "/sys/module", "/proc", "/dev", "/run", "/etc",
        ] {
            mkdirs(path + dir)
        }
        // The bus-wide probe file exists on every kernel.
        writeFile(path + "/sys/bus/pci/drivers_probe", "")
    }

    deinit {
        removeTree(path)
    }

    /// Absolute path of `/sys/devices/...` directory of a device.
    public func devicePath(_ address: PCIAddress) -> String? { devicePaths[address] }

    // MARK: - Building

    /// Adds a function. Its parent (if any) must have been added first.
    @discardableResult
    public func add(_ spec: FixtureDevice) -> FixtureHost {
        let parentDir: String
        if let parent = spec.parent {
            guard let dir = devicePaths[parent] else { preconditionFailure("parent \(parent) not added before \(spec.address)") }
            parentDir = dir
        } else {
            parentDir = path + "/sys/devices/pci" + hexString(spec.address.domain, width: 4) + ":" + hexString(UInt32(spec.address.bus), width: 2)
            mkdirs(parentDir)
        }
        let dir = parentDir + "/" + spec.address.description
        mkdirs(dir)
        devicePaths[spec.address] = dir
        specs[spec.address] = spec
        func hex(_ v: UInt32, _ w: Int) -> String { "0x" + hexString(v, width: w) + "\n" }
        writeFile(dir + "/vendor", hex(UInt32(spec.vendor), 4))
        writeFile(dir + "/device", hex(UInt32(spec.device), 4))
        writeFile(dir + "/subsystem_vendor", hex(UInt32(spec.subsystemVendor), 4))
        writeFile(dir + "/subsystem_device", hex(UInt32(spec.subsystemDevice), 4))
        writeFile(dir + "/class", hex(spec.classCode, 6))
        writeFile(dir + "/revision", hex(UInt32(spec.revision), 2))
        writeFile(dir + "/numa_node", String(spec.numaNode) + "\n")
        writeFile(dir + "/enable", String(spec.enable) + "\n")
        writeFile(dir + "/driver_override", (spec.driverOverride ?? "(null)") + "\n")
        writeFile(dir + "/irq", "0\n")
        writeFile(dir + "/resource", String(repeating: "0x0000000000000000 0x0000000000000000 0x0000000000000000\n", count: 13))
        if let methods = spec.resetMethods { writeFile(dir + "/reset_method", methods.joined(separator: " ") + "\n") }
        if let bootVGA = spec.bootVGA { writeFile(dir + "/boot_vga", (bootVGA ? "1" : "0") + "\n") }
        writeBytes(dir + "/config", spec.configSpace())
        // Sysfs links are relative, as the kernel makes them.
        let busLink = path + "/sys/bus/pci/devices/" + spec.address.description
        symlink(relative(from: path + "/sys/bus/pci/devices", to: dir), busLink)
        if let driver = spec.driver { attachDriver(spec.address, driver) }
        if let group = spec.iommuGroup { addToGroup(group, spec.address) }
        if let sriov = spec.sriov {
            writeFile(dir + "/sriov_totalvfs", String(sriov.totalVFs) + "\n")
            writeFile(dir + "/sriov_numvfs", String(sriov.numVFs) + "\n")
            writeFile(dir + "/sriov_drivers_autoprobe", (sriov.autoprobe ? "1" : "0") + "\n")
            writeFile(dir + "/sriov_vf_device", hexString(UInt32(sriov.vfDevice), width: 4) + "\n")
            writeFile(dir + "/sriov_offset", "1\n")
            writeFile(dir + "/sriov_stride", "1\n")
        }
        if let pf = spec.physicalFunction, let pfDir = devicePaths[pf] {
            symlink(relative(from: dir, to: pfDir), dir + "/physfn")
            let index = (Sysfs.list(pfDir) ?? []).filter { $0.hasPrefix("virtfn") }.count
            symlink(relative(from: pfDir, to: dir), pfDir + "/virtfn" + String(index))
        }
        if let vfioName = spec.vfioDevice {
            mkdirs(dir + "/vfio-dev/" + vfioName)
            writeFile(dir + "/vfio-dev/" + vfioName + "/dev", "511:" + String(vfioName.dropFirst(4)) + "\n")
        }
        return self
    }

    /// Takes a function off the bus as `pci_stop_and_remove_bus_device()` leaves sysfs: its
    /// directory, bus link, group link (and the group once empty) and a VF's `virtfnN` link go.
    public func remove(_ address: PCIAddress) {
        guard let dir = devicePaths[address] else { return }
        detachDriver(address)
        if let group = Sysfs.linkName(dir + "/iommu_group") {
            let groupDir = path + "/sys/kernel/iommu_groups/" + group
            unlink(groupDir + "/devices/" + address.description)
            if (Sysfs.list(groupDir + "/devices") ?? []).isEmpty { removeTree(groupDir) }
        }
        if let pf = Sysfs.linkName(dir + "/physfn").flatMap({ PCIAddress($0) }), let pfDir = devicePaths[pf] {
            for entry in Sysfs.list(pfDir) ?? [] where entry.hasPrefix("virtfn") && Sysfs.linkName(pfDir + "/" + entry) == address.description {
                unlink(pfDir + "/" + entry)
            }
        }
        unlink(path + "/sys/bus/pci/devices/" + address.description)
        removeTree(dir)
        devicePaths[address] = nil
        specs[address] = nil
    }

    /// Creates `/sys/bus/pci/drivers/NAME` with its `bind`/`unbind`/`new_id`/`remove_id` files.
    public func ensureDriver(_ name: String) {
        let dir = path + "/sys/bus/pci/drivers/" + name
        guard !Sysfs.isDirectory(dir) else { return }
        mkdirs(dir)
        for file in ["bind", "unbind", "new_id", "remove_id", "uevent"] { writeFile(dir + "/" + file, "") }
    }

    /// Binds a driver the way the kernel shows it: `driver` link and the driver's back link.
    public func attachDriver(_ address: PCIAddress, _ driver: String) {
        guard let dir = devicePaths[address] else { return }
        ensureDriver(driver)
        let driverDir = path + "/sys/bus/pci/drivers/" + driver
        unlink(dir + "/driver")
        symlink(relative(from: dir, to: driverDir), dir + "/driver")
        symlink(relative(from: driverDir, to: dir), driverDir + "/" + address.description)
    }

    /// Removes the `driver` link and the driver's back link.
    public func detachDriver(_ address: PCIAddress) {
        guard let dir = devicePaths[address], let driver = Sysfs.linkName(dir + "/driver") else { return }
        unlink(path + "/sys/bus/pci/drivers/" + driver + "/" + address.description)
        unlink(dir + "/driver")
    }

    public func addToGroup(_ id: Int, _ address: PCIAddress, type: String = "DMA") {
        let groupDir = path + "/sys/kernel/iommu_groups/" + String(id)
        if !Sysfs.isDirectory(groupDir) {
            mkdirs(groupDir + "/devices")
            writeFile(groupDir + "/type", type + "\n")
            writeFile(groupDir + "/reserved_regions", "0x00000000fee00000 0x00000000feefffff msi\n")
        }
        guard let dir = devicePaths[address] else { return }
        symlink(relative(from: groupDir + "/devices", to: dir), groupDir + "/devices/" + address.description)
        symlink(relative(from: dir, to: groupDir), dir + "/iommu_group")
    }

    /// Writes a file under the fixture root (path is absolute host-style, e.g. `/proc/cmdline`).
    public func write(_ hostPath: String, _ contents: String) {
        let full = path + hostPath
        if let slash = full.lastIndex(of: "/") { mkdirs(String(full[..<slash])) }
        writeFile(full, contents)
    }

    public func read(_ hostPath: String) -> String? { Sysfs.read(path + hostPath) }

    /// The driver a device is bound to now (its `driver` link), e.g. `driver("05:00.0")`.
    public func driver(_ address: String) -> String? {
        PCIAddress(address).flatMap { driver(of: $0) }
    }

    public func driver(of address: PCIAddress) -> String? { Sysfs.linkName(root.device(address) + "/driver") }
}

// MARK: - Small file helpers (tests only)

func mkdirs(_ dir: String) {
    var current = ""
    for component in dir.split(separator: "/") {
        current += "/" + component
        mkdir(current, 0o755)
    }
}

func writeFile(_ file: String, _ contents: String) {
    writeBytes(file, Array(contents.utf8))
}

func writeBytes(_ file: String, _ bytes: [UInt8]) {
    let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    precondition(fd >= 0, "cannot create \(file)")
    bytes.withUnsafeBytes { _ = Glibc.write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

func removeTree(_ dir: String) {
    guard let entries = Sysfs.list(dir) else {
        unlink(dir)
        return
    }
    for entry in entries {
        let child = dir + "/" + entry
        var st = stat()
        if lstat(child, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { removeTree(child) } else { unlink(child) }
    }
    rmdir(dir)
}

/// A relative symlink target from directory `from` to `to` (both absolute).
func relative(from: String, to: String) -> String {
    let a = from.split(separator: "/")
    let b = to.split(separator: "/")
    var common = 0
    while common < a.count, common < b.count, a[common] == b[common] { common += 1 }
    let ups = Array(repeating: "..", count: a.count - common)
    return (ups + b[common...].map(String.init)).joined(separator: "/")
}
