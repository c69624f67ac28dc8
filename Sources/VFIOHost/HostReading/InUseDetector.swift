import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Finds host use of PCI functions from sysfs and procfs under the root prefix: block devices
/// (with partitions and dm/md/LVM holders) that are mounted or used as swap, network interfaces
/// that are up with an address or a route, and framebuffers. Reads only; what counts as a use is
/// `InUseClassifier`'s, and the verdicts are the planner's.
public struct InUseDetector {
    public let root: HostRoot
    /// Which of the named interfaces (name, ifindex) have an XDP program attached: rtnetlink on
    /// the real host; nothing under a fixture root, which has no netlink (tests pass their own).
    var xdpAttachments: ([(name: String, index: Int32)]) -> [String: XDPAttachment]

    public init(root: HostRoot) {
        self.root = root
        if root.isHostRoot {
            xdpAttachments = { XDPReader.attachments($0) }
        } else {
            xdpAttachments = { _ in [:] }
        }
    }

    /// Every use of each of `devices` found on the host.
    public func uses(of devices: [PCIDevice]) -> [DeviceUse] {
        guard !devices.isEmpty else { return [] }
        let mounts = readMounts()
        let swaps = readSwaps()
        let blocks = classBlock()
        // Addresses and routes are read only when one of the devices has an interface that is up:
        // `getifaddrs` dumps every link with its statistics, which some NIC drivers read from the
        // hardware (hundreds of milliseconds for an e1000e in an emulated guest).
        lazy var network = NetworkFacts.read(root: root)
        var result: [DeviceUse] = []
        for device in devices {
            guard let deviceReal = realPath(root.device(device.address)) else { continue }
            let disks = blockDevices(deviceReal: deviceReal, all: blocks)
            result += InUseClassifier.blockUses(device.address, disks: disks, mounts: mounts, swaps: swaps)
            result += networkUses(device.address, deviceReal: deviceReal) { network }
            result += framebufferUses(device.address, deviceReal: deviceReal)
        }
        return result
    }

    // MARK: - Block devices

    /// Block devices on the function: disks whose sysfs directory is below it (NVMe namespaces,
    /// SCSI/ATA disks behind an HBA, virtio-blk, USB storage behind a USB controller), NVMe
    /// multipath heads whose `multipath/` paths are below it (with native multipath the head
    /// disk lives under `/sys/devices/virtual/nvme-subsystem`, not under the controller), their
    /// partitions, and every dm/md device stacked on them (`holders/`, transitively).
    func blockDevices(deviceReal: String, all: [String: String]) -> [InUseClassifier.BlockDevice] {
        func under(_ path: String, _ dir: String) -> Bool { path == dir || path.hasPrefix(dir + "/") }
        var found: [String: InUseClassifier.BlockDevice] = [:]
        var queue: [String] = []
        func add(_ name: String, via: String?) {
            guard found[name] == nil, let real = all[name] else { return }
            found[name] = InUseClassifier.BlockDevice(
                name: name, real: real, devNumber: Sysfs.read(real + "/dev"), dmName: Sysfs.read(real + "/dm/name"), via: via)
            queue.append(name)
        }
        for (name, real) in all.sorted(by: { $0.key < $1.key }) {
            if under(real, deviceReal) {
                add(name, via: nil)
            } else if let paths = Sysfs.list(real + "/multipath"),
                paths.contains(where: { realPath(real + "/multipath/" + $0).map { under($0, deviceReal) } ?? false })
            {
                add(name, via: nil)
            }
        }
        while let name = queue.popLast() {
            let disk = found[name]!
            // Partitions are subdirectories of their disk.
            for (other, real) in all where found[other] == nil && under(real, disk.real) {
                add(other, via: disk.via)
            }
            for holder in Sysfs.list(disk.real + "/holders") ?? [] {
                let label = holder + (Sysfs.read(root.path("/sys/class/block/" + holder + "/dm/name")).map { " (" + $0 + ")" } ?? "")
                add(holder, via: "via " + label + " on " + name)
            }
        }
        return found.values.sorted { $0.name < $1.name }
    }

    /// Every block device by name, with its real sysfs directory.
    func classBlock() -> [String: String] {
        let classDir = root.path("/sys/class/block")
        var all: [String: String] = [:]
        for name in Sysfs.list(classDir) ?? [] {
            if let real = realPath(classDir + "/" + name) { all[name] = real }
        }
        return all
    }

    /// `/proc/self/mountinfo` (device numbers and sources), else `/proc/mounts` (sources only).
    func readMounts() -> [InUseClassifier.Mount] {
        if let text = Sysfs.read(root.path("/proc/self/mountinfo")) { return Self.parseMountInfo(text) }
        guard let text = Sysfs.read(root.path("/proc/mounts")) else { return [] }
        return Self.parseProcMounts(text)
    }

    /// Swap areas from `/proc/swaps`.
    func readSwaps() -> [String] {
        guard let text = Sysfs.read(root.path("/proc/swaps")) else { return [] }
        return Self.parseSwaps(text)
    }

    // MARK: - Network interfaces

    func networkUses(_ address: PCIAddress, deviceReal: String, facts: () -> NetworkFacts) -> [DeviceUse] {
        let classDir = root.path("/sys/class/net")
        var uses: [DeviceUse] = []
        var interfaces: [(name: String, index: Int32)] = []
        for name in (Sysfs.list(classDir) ?? []).sorted() {
            guard let real = realPath(classDir + "/" + name), real.hasPrefix(deviceReal + "/") else { continue }
            if let index = Sysfs.readInt(real + "/ifindex") { interfaces.append((name, Int32(index))) }
            uses += InUseClassifier.linkUses(address, interface: name, links: networkLinks(real, classDir: classDir))
            // Administratively up (IFF_UP) or with a carrier: either way the host is using it.
            let flags = Sysfs.readHex(real + "/flags") ?? 0
            let operstate = Sysfs.read(real + "/operstate") ?? "unknown"
            guard flags & 0x1 != 0 || operstate == "up" else { continue }
            let facts = facts()
            let use = InUseClassifier.networkUse(address, interface: name, addresses: facts.addresses[name] ?? [], routes: facts.routes[name] ?? [])
            if let use { uses.append(use) }
        }
        // Up or down: a program attached (an AF_XDP application, a load balancer) means
        // something on the host runs on this NIC.
        let attached = xdpAttachments(interfaces)
        for interface in interfaces {
            if let xdp = attached[interface.name] { uses.append(InUseClassifier.xdpUse(address, interface: interface.name, attachment: xdp)) }
        }
        return uses
    }

    /// The interface's master (`master` link; a bridge port also has `brport/`) and its upper
    /// devices (`upper_NAME` links) other than the master.
    func networkLinks(_ real: String, classDir: String) -> InUseClassifier.NetworkLinks {
        var links = InUseClassifier.NetworkLinks()
        links.master = Sysfs.linkName(real + "/master")
        if let master = links.master {
            let masterDir = classDir + "/" + master
            if Sysfs.exists(masterDir + "/bridge") || Sysfs.exists(real + "/brport") {
                links.masterKind = .bridge
            } else if Sysfs.exists(masterDir + "/bonding") {
                links.masterKind = .bond
            } else {
                links.masterKind = .other
            }
        }
        for entry in (Sysfs.list(real) ?? []).sorted() where entry.hasPrefix("upper_") {
            let upper = String(entry.dropFirst(6))
            guard upper != links.master else { continue }
            let upperDir = classDir + "/" + upper
            let up = (Sysfs.readHex(upperDir + "/flags") ?? 0) & 0x1 != 0
            let kind = Sysfs.read(upperDir + "/uevent").flatMap(Self.devType)
            links.uppers.append((name: upper, up: up, kind: kind))
        }
        return links
    }

    /// `DEVTYPE=vlan` from a uevent file.
    static func devType(_ uevent: String) -> String? {
        uevent.split(separator: "\n").first { $0.hasPrefix("DEVTYPE=") }.map { String($0.dropFirst(8)) }
    }

    // MARK: - Framebuffers

    func framebufferUses(_ address: PCIAddress, deviceReal: String) -> [DeviceUse] {
        let classDir = root.path("/sys/class/graphics")
        var uses: [DeviceUse] = []
        let procFB = Self.parseProcFB(Sysfs.read(root.path("/proc/fb")) ?? "")
        for name in (Sysfs.list(classDir) ?? []).sorted() where name.hasPrefix("fb") {
            guard let real = realPath(classDir + "/" + name), real.hasPrefix(deviceReal + "/") else { continue }
            let driverName = Int(name.dropFirst(2)).flatMap { procFB[$0] } ?? Sysfs.read(real + "/name")
            uses.append(InUseClassifier.framebufferUse(address, framebuffer: name, driverName: driverName, console: frameBufferConsole()))
        }
        return uses
    }

    /// The bound framebuffer console (`vtconN` whose name mentions a frame buffer), if any.
    func frameBufferConsole() -> String? {
        let dir = root.path("/sys/class/vtconsole")
        for name in (Sysfs.list(dir) ?? []).sorted() {
            if Sysfs.read(dir + "/" + name + "/name")?.contains("frame buffer") == true, Sysfs.readInt(dir + "/" + name + "/bind") == 1 {
                return name
            }
        }
        return nil
    }

    // MARK: - Helpers

    func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
