import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// Host use of devices in a fixture tree, laid out as the kernel lays it out: block devices
/// below their PCI function with `/sys/class/block` links, dm holders, mounts in
/// `/proc/self/mountinfo`, swap in `/proc/swaps`, network interfaces with `/proc/net` entries,
/// framebuffers.
extension FixtureHost {
    // MARK: - Block devices

    /// Adds a disk below a PCI function, at `subpath` (e.g. `nvme/nvme0` for an NVMe
    /// namespace, `ata1/host0/target0:0:0/0:0:0:0/block` for SATA), with its partitions.
    /// - Parameters:
    ///   - dev: `major:minor`, as in the `dev` attribute.
    public func addDisk(_ name: String, on address: PCIAddress, subpath: String, dev: String, partitions: [(name: String, dev: String)] = []) {
        guard let deviceDir = devicePath(address) else { preconditionFailure("no device \(address)") }
        let parent = subpath.isEmpty ? deviceDir : deviceDir + "/" + subpath
        addBlockDirectory(name, at: parent + "/" + name, dev: dev)
        for partition in partitions {
            addBlockDirectory(partition.name, at: parent + "/" + name + "/" + partition.name, dev: partition.dev)
            writeFile(parent + "/" + name + "/" + partition.name + "/partition", "1\n")
        }
    }

    /// Adds an NVMe namespace the way native NVMe multipath shows it: the head disk under
    /// `/sys/devices/virtual/nvme-subsystem/nvme-subsysN/`, with `multipath/` links to the
    /// hidden per-controller path disk (`nvme0c0n1`) below the PCI function.
    public func addMultipathNamespace(
        _ name: String, pathName: String, subsystem: String, on address: PCIAddress, controller: String, dev: String,
        partitions: [(name: String, dev: String)] = []
    ) {
        guard let deviceDir = devicePath(address) else { preconditionFailure("no device \(address)") }
        let pathDir = deviceDir + "/nvme/" + controller + "/" + pathName
        mkdirs(pathDir)
        let head = path + "/sys/devices/virtual/nvme-subsystem/" + subsystem + "/" + name
        addBlockDirectory(name, at: head, dev: dev)
        mkdirs(head + "/multipath")
        symlink(relative(from: head + "/multipath", to: pathDir), head + "/multipath/" + pathName)
        for partition in partitions {
            addBlockDirectory(partition.name, at: head + "/" + partition.name, dev: partition.dev)
        }
    }

    /// Adds a device-mapper device (LVM, dm-crypt) stacked on `slaves`, which become its holders'
    /// lower devices (`slaves/…`, and `holders/<name>` on each of them).
    public func addDeviceMapper(_ name: String, dmName: String, dev: String, over slaves: [String]) {
        let dir = path + "/sys/devices/virtual/block/" + name
        addBlockDirectory(name, at: dir, dev: dev)
        mkdirs(dir + "/dm")
        writeFile(dir + "/dm/name", dmName + "\n")
        mkdirs(dir + "/slaves")
        for slave in slaves {
            guard let slaveDir = blockDirectory(slave) else { preconditionFailure("no block device \(slave)") }
            symlink(relative(from: dir + "/slaves", to: slaveDir), dir + "/slaves/" + slave)
            symlink(relative(from: slaveDir + "/holders", to: dir), slaveDir + "/holders/" + name)
        }
    }

    /// The real directory of a block device, from its `/sys/class/block` link.
    public func blockDirectory(_ name: String) -> String? {
        guard let resolved = realpath(path + "/sys/class/block/" + name, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    private func addBlockDirectory(_ name: String, at dir: String, dev: String) {
        mkdirs(dir + "/holders")
        writeFile(dir + "/dev", dev + "\n")
        writeFile(dir + "/size", "1000000\n")
        writeFile(dir + "/uevent", Self.uevent(dev: dev, devName: name))
        mkdirs(path + "/sys/class/block")
        symlink(relative(from: path + "/sys/class/block", to: dir), path + "/sys/class/block/" + name)
        mkdirs(path + "/sys/dev/block")
        symlink(relative(from: path + "/sys/dev/block", to: dir), path + "/sys/dev/block/" + dev)
    }

    static func uevent(dev: String, devName: String) -> String {
        let parts = dev.split(separator: ":")
        return "MAJOR=" + (parts.first.map(String.init) ?? "") + "\nMINOR=" + (parts.last.map(String.init) ?? "") + "\nDEVNAME=" + devName + "\n"
    }

    // MARK: - Character devices

    /// Adds a character device below a PCI function as its subsystem registers it: a directory
    /// at `subpath` (e.g. `drm/card0`, `sound/card0/controlC0`, `nvme/nvme0`) with `dev` and a
    /// `uevent` naming `devName` (`dri/card0`), the `/sys/dev/char/MAJ:MIN` link, and, with
    /// `makeNode`, a stand-in node at `/dev/<devName>`.
    public func addCharDevice(on address: PCIAddress, subpath: String, dev: String, devName: String, makeNode: Bool = true) throws {
        guard let deviceDir = devicePath(address) else { preconditionFailure("no device \(address)") }
        let dir = deviceDir + "/" + subpath
        mkdirs(dir)
        writeFile(dir + "/dev", dev + "\n")
        writeFile(dir + "/uevent", Self.uevent(dev: dev, devName: devName))
        mkdirs(path + "/sys/dev/char")
        symlink(relative(from: path + "/sys/dev/char", to: dir), path + "/sys/dev/char/" + dev)
        if makeNode { try makeDeviceNode("/dev/" + devName, dev: dev) }
    }

    /// A stand-in node at a host-style path for `MAJ:MIN` (character or block: the scan tells
    /// them apart by the number, so a fixture gives block devices their own majors).
    public func makeDeviceNode(_ hostPath: String, dev: String) throws {
        guard let number = DeviceNumber(parsing: dev) else { preconditionFailure("bad dev \(dev)") }
        try makeCharNode(hostPath, major: number.major, minor: number.minor)
    }

    /// Stand-in nodes under `/dev` for a disk added with `addDisk` and its partitions.
    public func makeBlockNodes(_ names: [String]) throws {
        for name in names {
            guard let dev = read("/sys/class/block/" + name + "/dev") else { preconditionFailure("no block device \(name)") }
            try makeDeviceNode("/dev/" + name, dev: dev)
        }
    }

    /// Appends a mount to `/proc/self/mountinfo` (and `/proc/mounts`).
    public func mount(dev: String, source: String, at mountPoint: String, fsType: String = "ext4") {
        let existing = read("/proc/self/mountinfo").map { $0 + "\n" } ?? ""
        let id = 20 + existing.split(separator: "\n").count
        let escaped = mountPoint.replacingSpaces
        write("/proc/self/mountinfo", existing + "\(id) 1 \(dev) / \(escaped) rw,relatime shared:1 - \(fsType) \(source) rw\n")
        let mounts = read("/proc/mounts").map { $0 + "\n" } ?? ""
        write("/proc/mounts", mounts + "\(source) \(escaped) \(fsType) rw,relatime 0 0\n")
    }

    /// Adds a swap area to `/proc/swaps`.
    public func addSwap(_ source: String) {
        let existing = read("/proc/swaps") ?? "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority"
        write("/proc/swaps", existing + "\n" + source + "                               partition\t1048572\t\t0\t\t-2\n")
    }

    // MARK: - Network interfaces

    /// Adds a network interface below a PCI function (`net/<name>`, or below `subpath`).
    public func addNetworkInterface(_ name: String, on address: PCIAddress, up: Bool, subpath: String = "") {
        guard let deviceDir = devicePath(address) else { preconditionFailure("no device \(address)") }
        let dir = (subpath.isEmpty ? deviceDir : deviceDir + "/" + subpath) + "/net/" + name
        mkdirs(dir)
        writeFile(dir + "/flags", up ? "0x1003\n" : "0x1002\n")
        writeFile(dir + "/operstate", up ? "up\n" : "down\n")
        writeFile(dir + "/address", "52:54:00:12:34:56\n")
        mkdirs(path + "/sys/class/net")
        // Indexes as the kernel hands them out: 1 is lo, then one per interface.
        writeFile(dir + "/ifindex", String(2 + (Sysfs.list(path + "/sys/class/net")?.count ?? 0)) + "\n")
        symlink(relative(from: path + "/sys/class/net", to: dir), path + "/sys/class/net/" + name)
    }

    /// Adds a virtual interface (`/sys/devices/virtual/net/NAME`) with a DEVTYPE in its uevent
    /// (`bridge`, `bond`, `vlan`, `macvlan`), plus the `bridge/` or `bonding/` directory a
    /// bridge or bond has. - Returns: its directory.
    @discardableResult
    public func addVirtualInterface(_ name: String, type: String?, up: Bool) -> String {
        let dir = path + "/sys/devices/virtual/net/" + name
        mkdirs(dir)
        writeFile(dir + "/flags", up ? "0x1003\n" : "0x1002\n")
        writeFile(dir + "/operstate", up ? "up\n" : "down\n")
        writeFile(dir + "/uevent", "INTERFACE=" + name + "\n" + (type.map { "DEVTYPE=" + $0 + "\n" } ?? ""))
        if type == "bridge" { mkdirs(dir + "/bridge") }
        if type == "bond" { mkdirs(dir + "/bonding") }
        mkdirs(path + "/sys/class/net")
        symlink(relative(from: path + "/sys/class/net", to: dir), path + "/sys/class/net/" + name)
        return dir
    }

    /// Makes `lower` a port or slave of `master` as the kernel links them: `master` and
    /// `upper_MASTER` on the lower, `lower_LOWER` on the master, and `brport/` for a bridge port.
    public func enslave(_ lower: String, to master: String, bridgePort: Bool) {
        guard let lowerDir = netDirectory(lower), let masterDir = netDirectory(master) else { preconditionFailure("no interface") }
        symlink(relative(from: lowerDir, to: masterDir), lowerDir + "/master")
        stack(lower, under: master)
        if bridgePort { mkdirs(lowerDir + "/brport") }
    }

    /// Makes `upper` an upper device of `lower` (a VLAN, macvlan): `upper_UPPER` on the lower and
    /// `lower_LOWER` on the upper.
    public func stack(_ lower: String, under upper: String) {
        guard let lowerDir = netDirectory(lower), let upperDir = netDirectory(upper) else { preconditionFailure("no interface") }
        symlink(relative(from: lowerDir, to: upperDir), lowerDir + "/upper_" + upper)
        symlink(relative(from: upperDir, to: lowerDir), upperDir + "/lower_" + lower)
    }

    /// The real directory of an interface, from its `/sys/class/net` link.
    public func netDirectory(_ name: String) -> String? {
        guard let resolved = realpath(path + "/sys/class/net/" + name, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Adds an IPv4 route through `interface` to `/proc/net/route` (fields in the kernel's
    /// little-endian hex), as the kernel adds one for each address's prefix.
    public func addIPv4Route(interface: String, destination: (UInt8, UInt8, UInt8, UInt8), prefix: Int) {
        func hex(_ b: (UInt8, UInt8, UInt8, UInt8)) -> String {
            let value = UInt32(b.0) | UInt32(b.1) << 8 | UInt32(b.2) << 16 | UInt32(b.3) << 24
            return hexString(value, width: 8).uppercased()
        }
        let mask: UInt32 = prefix == 0 ? 0 : UInt32.max << (32 - prefix)
        let maskBytes = (UInt8(mask >> 24), UInt8((mask >> 16) & 0xff), UInt8((mask >> 8) & 0xff), UInt8(mask & 0xff))
        let header = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT"
        let existing = read("/proc/net/route") ?? header
        write("/proc/net/route", existing + "\n" + interface + "\t" + hex(destination) + "\t00000000\t0001\t0\t0\t0\t" + hex(maskBytes) + "\t0\t0\t0\n")
    }

    /// Adds an IPv6 address line to `/proc/net/if_inet6`. `scope` 0x00 global, 0x20 link.
    public func addIPv6Address(interface: String, hex32: String, prefix: Int, scope: Int) {
        let existing = read("/proc/net/if_inet6").map { $0 + "\n" } ?? ""
        let line = hex32 + " 02 " + hexString(UInt32(prefix), width: 2) + " " + hexString(UInt32(scope), width: 2) + " 80 " + interface
        write("/proc/net/if_inet6", existing + line + "\n")
    }

    // MARK: - Framebuffers

    /// Adds `/sys/class/graphics/fbN` below a PCI function and its `/proc/fb` line, and a bound
    /// framebuffer console.
    public func addFramebuffer(index: Int, on address: PCIAddress, name: String) {
        guard let deviceDir = devicePath(address) else { preconditionFailure("no device \(address)") }
        let dir = deviceDir + "/graphics/fb" + String(index)
        mkdirs(dir)
        writeFile(dir + "/name", name + "\n")
        mkdirs(path + "/sys/class/graphics")
        symlink(relative(from: path + "/sys/class/graphics", to: dir), path + "/sys/class/graphics/fb" + String(index))
        let existing = read("/proc/fb").map { $0 + "\n" } ?? ""
        write("/proc/fb", existing + String(index) + " " + name + "\n")
        write("/sys/class/vtconsole/vtcon1/name", "(M) frame buffer device\n")
        write("/sys/class/vtconsole/vtcon1/bind", "1\n")
    }

    /// Turns vfio's no-IOMMU mode on or off.
    public func setNoIOMMU(_ enabled: Bool) {
        write(SysfsPaths.noiommuParameter, enabled ? "Y\n" : "N\n")
    }

    /// Enables `count` VFs on a PF in the fixture's view (the `sriov_numvfs` attribute only).
    public func setNumVFs(_ address: PCIAddress, _ count: Int) {
        guard let dir = devicePath(address) else { return }
        writeFile(dir + "/sriov_numvfs", String(count) + "\n")
    }

    /// A snapshot of every file, link and directory under the tree (path → content or link
    /// target), to prove that something changed nothing.
    public func snapshot() -> [String: String] {
        var result: [String: String] = [:]
        func walk(_ dir: String) {
            for name in Sysfs.list(dir) ?? [] {
                let full = dir + "/" + name
                var st = stat()
                guard lstat(full, &st) == 0 else { continue }
                let key = String(full.dropFirst(path.count))
                switch st.st_mode & S_IFMT {
                case S_IFLNK: result[key] = "-> " + (Sysfs.readLink(full) ?? "")
                case S_IFDIR:
                    result[key] = "dir"
                    walk(full)
                default:
                    result[key] = Sysfs.readBytes(full, limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) } ?? ""
                }
            }
        }
        walk(path)
        return result
    }
}

extension String {
    fileprivate var replacingSpaces: String {
        var out = ""
        for c in self { out += c == " " ? "\\040" : String(c) }
        return out
    }
}
