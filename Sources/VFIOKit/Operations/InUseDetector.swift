#if canImport(Glibc)
import Glibc
#endif

/// Something on the host that uses a PCI function, found before vfioctl takes the function away
/// from its driver.
public struct DeviceUse: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A filesystem on one of the function's block devices (or a dm/md/LVM device above them) is mounted.
        case mountedFilesystem = "mounted-filesystem"
        /// The root filesystem is on it: never forceable.
        case rootFilesystem = "root-filesystem"
        case swap
        /// A network interface on it is up with an address or a route.
        case networkInterface = "network-interface"
        /// The firmware's boot display (`boot_vga` = 1).
        case bootVGA = "boot-vga"
        /// A framebuffer (`/sys/class/graphics/fbN`) lives on it; the console may be drawing on it.
        case framebuffer
        /// An SR-IOV PF with VFs enabled: vfio-pci refuses it, and the VFs depend on it.
        case virtualFunctions = "virtual-functions"
        /// Bound to a VFIO driver and open by a process: unbinding it would block until it is closed.
        case openVFIODevice = "open-vfio-device"
    }

    public var address: PCIAddress
    public var kind: Kind
    /// What is in use, e.g. `nvme0n1p1 is mounted on /home`.
    public var what: String
    /// How to free it, e.g. `umount /home`.
    public var remedy: String
    /// Whether `--force` may override this check. The root filesystem and an open VFIO device
    /// never are: one takes the system down, the other hangs vfioctl in the kernel.
    public var forceable: Bool

    public init(address: PCIAddress, kind: Kind, what: String, remedy: String, forceable: Bool = true) {
        self.address = address
        self.kind = kind
        self.what = what
        self.remedy = remedy
        self.forceable = forceable
    }
}

/// Finds host use of PCI functions from sysfs and procfs under the root prefix: block devices
/// (with partitions and dm/md/LVM holders) that are mounted or used as swap, network interfaces
/// that are up with an address or a route, and framebuffers. Reads only; the verdicts are made
/// by the planner.
public struct InUseDetector {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
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
            result += blockUses(device.address, deviceReal: deviceReal, all: blocks, mounts: mounts, swaps: swaps)
            result += networkUses(device.address, deviceReal: deviceReal) { network }
            result += framebufferUses(device.address, deviceReal: deviceReal)
        }
        return result
    }

    // MARK: - Block devices

    struct BlockDevice {
        var name: String
        var real: String
        var devNumber: String?
        /// For device-mapper devices, the `dm/name` (what `/dev/mapper/NAME` is called).
        var dmName: String?
        /// How it relates to the PCI function, for messages (`via dm-0 (vg-root)`).
        var via: String?
    }

    /// Block devices on the function: disks whose sysfs directory is below it (NVMe namespaces,
    /// SCSI/ATA disks behind an HBA, virtio-blk, USB storage behind a USB controller), NVMe
    /// multipath heads whose `multipath/` paths are below it (with native multipath the head
    /// disk lives under `/sys/devices/virtual/nvme-subsystem`, not under the controller), their
    /// partitions, and every dm/md device stacked on them (`holders/`, transitively).
    func blockDevices(deviceReal: String, all: [String: String]) -> [BlockDevice] {
        func under(_ path: String, _ dir: String) -> Bool { path == dir || path.hasPrefix(dir + "/") }
        var found: [String: BlockDevice] = [:]
        var queue: [String] = []
        func add(_ name: String, via: String?) {
            guard found[name] == nil, let real = all[name] else { return }
            found[name] = BlockDevice(
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

    struct Mount {
        var devNumber: String?
        var source: String
        var mountPoint: String
        var fsType: String
    }

    /// `/proc/self/mountinfo` (device numbers and sources), else `/proc/mounts` (sources only).
    func readMounts() -> [Mount] {
        if let text = Sysfs.read(root.path("/proc/self/mountinfo")) {
            return text.split(separator: "\n").compactMap { line in
                let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
                // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
                guard fields.count >= 7, let dash = fields.firstIndex(of: "-"), dash >= 6 else { return nil }
                let fsType = dash + 1 < fields.count ? fields[dash + 1] : ""
                let source = dash + 2 < fields.count ? Self.unescape(fields[dash + 2]) : ""
                return Mount(devNumber: fields[2], source: source, mountPoint: Self.unescape(fields[4]), fsType: fsType)
            }
        }
        guard let text = Sysfs.read(root.path("/proc/mounts")) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 3 else { return nil }
            return Mount(devNumber: nil, source: Self.unescape(fields[0]), mountPoint: Self.unescape(fields[1]), fsType: fields[2])
        }
    }

    /// Swap areas from `/proc/swaps` (the first column, a path).
    func readSwaps() -> [String] {
        guard let text = Sysfs.read(root.path("/proc/swaps")) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            line.split(separator: " ", omittingEmptySubsequences: true).first.map { Self.unescape(String($0)) }
        }
    }

    /// Whether a `/dev/…` path names this block device (`/dev/nvme0n1p1`, `/dev/dm-0`, `/dev/mapper/vg-root`).
    static func names(_ source: String, _ disk: BlockDevice) -> Bool {
        guard source.hasPrefix("/dev/") else { return false }
        let base = source.split(separator: "/").last.map(String.init) ?? ""
        if base == disk.name { return true }
        if let dmName = disk.dmName, source == "/dev/mapper/" + dmName { return true }
        return false
    }

    func blockUses(_ address: PCIAddress, deviceReal: String, all: [String: String], mounts: [Mount], swaps: [String]) -> [DeviceUse] {
        let disks = blockDevices(deviceReal: deviceReal, all: all)
        guard !disks.isEmpty else { return [] }
        var uses: [DeviceUse] = []
        for disk in disks {
            let label = disk.name + (disk.via.map { " (" + $0 + ")" } ?? "")
            // btrfs and overlay report anonymous device numbers (0:NN) in mountinfo, so the
            // source path is matched as well as the number.
            for mount in mounts where (disk.devNumber != nil && mount.devNumber == disk.devNumber) || Self.names(mount.source, disk) {
                if mount.mountPoint == "/" {
                    uses.append(
                        DeviceUse(
                            address: address, kind: .rootFilesystem, what: label + " holds the root filesystem (/)",
                            remedy: "the running system lives on it; it cannot be given away", forceable: false))
                } else {
                    uses.append(
                        DeviceUse(
                            address: address, kind: .mountedFilesystem, what: label + " is mounted on " + mount.mountPoint,
                            remedy: "umount " + mount.mountPoint))
                }
            }
            for swap in swaps where Self.names(swap, disk) {
                uses.append(DeviceUse(address: address, kind: .swap, what: label + " is in use as swap", remedy: "swapoff " + swap))
            }
        }
        return uses
    }

    // MARK: - Network interfaces

    func networkUses(_ address: PCIAddress, deviceReal: String, facts: () -> NetworkFacts) -> [DeviceUse] {
        let classDir = root.path("/sys/class/net")
        var uses: [DeviceUse] = []
        for name in (Sysfs.list(classDir) ?? []).sorted() {
            guard let real = realPath(classDir + "/" + name), real.hasPrefix(deviceReal + "/") else { continue }
            // Administratively up (IFF_UP) or with a carrier: either way the host is using it.
            let flags = Sysfs.readHex(real + "/flags") ?? 0
            let operstate = Sysfs.read(real + "/operstate") ?? "unknown"
            guard flags & 0x1 != 0 || operstate == "up" else { continue }
            let facts = facts()
            let addresses = facts.addresses[name] ?? []
            let routes = facts.routes[name] ?? []
            guard !addresses.isEmpty || !routes.isEmpty else { continue }
            var what = name + " is up"
            if !addresses.isEmpty { what += " with address " + addresses.joined(separator: ", ") }
            if !routes.isEmpty { what += (addresses.isEmpty ? " with " : " and ") + "route " + routes.joined(separator: ", ") }
            uses.append(DeviceUse(address: address, kind: .networkInterface, what: what, remedy: "ip link set " + name + " down"))
        }
        return uses
    }

    // MARK: - Framebuffers

    func framebufferUses(_ address: PCIAddress, deviceReal: String) -> [DeviceUse] {
        let classDir = root.path("/sys/class/graphics")
        var uses: [DeviceUse] = []
        let procFB = Self.parseProcFB(Sysfs.read(root.path("/proc/fb")) ?? "")
        for name in (Sysfs.list(classDir) ?? []).sorted() where name.hasPrefix("fb") {
            guard let real = realPath(classDir + "/" + name), real.hasPrefix(deviceReal + "/") else { continue }
            let driverName = Int(name.dropFirst(2)).flatMap { procFB[$0] } ?? Sysfs.read(real + "/name")
            var what = name + (driverName.map { " (" + $0 + ")" } ?? "") + " is a framebuffer on it; the console may be drawing on it"
            var remedy = "move the console off it and stop the display server"
            if let vtcon = frameBufferConsole() {
                what += " (" + vtcon + " is bound)"
                remedy = "echo 0 > /sys/class/vtconsole/" + vtcon + "/bind, and stop the display server"
            }
            uses.append(DeviceUse(address: address, kind: .framebuffer, what: what, remedy: remedy))
        }
        return uses
    }

    /// `/proc/fb`: `0 nouveaudrmfb` → [0: "nouveaudrmfb"].
    static func parseProcFB(_ text: String) -> [Int: String] {
        var result: [Int: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2, let index = Int(parts[0]) { result[index] = String(parts[1]) }
        }
        return result
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

    /// Undoes the octal escapes (`\040` for a space) that mountinfo and /proc/swaps use.
    static func unescape(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 3 < bytes.count,
                let value = UInt8(String(decoding: bytes[(i + 1)...(i + 3)], as: UTF8.self), radix: 8)
            {
                out.append(value)
                i += 4
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Addresses and routes per interface name. Read from procfs under the root prefix
/// (`/proc/net/if_inet6` for IPv6 addresses, `/proc/net/route` for IPv4 routes, which is what
/// a fixture can provide) and, on the real host, from `getifaddrs` for IPv4 addresses, which
/// procfs does not list per interface.
struct NetworkFacts {
    var addresses: [String: [String]] = [:]
    var routes: [String: [String]] = [:]

    static func read(root: HostRoot) -> NetworkFacts {
        var facts = NetworkFacts()
        for line in (Sysfs.read(root.path("/proc/net/if_inet6")) ?? "").split(separator: "\n") {
            // address ifindex prefixlen scope flags name
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[0].count == 32, let scope = Int(f[3], radix: 16), let prefix = Int(f[2], radix: 16) else { continue }
            // Link-local (0x20) and host (0x10) scopes come with every up interface or with
            // loopback; they are not configuration.
            guard scope != 0x20, scope != 0x10 else { continue }
            facts.addresses[String(f[5]), default: []].append(formatIPv6(String(f[0])) + "/" + String(prefix))
        }
        for line in (Sysfs.read(root.path("/proc/net/route")) ?? "").split(separator: "\n").dropFirst() {
            // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dest = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { continue }
            let name = String(f[0])
            var text = formatIPv4LittleEndian(dest) + "/" + String(mask.nonzeroBitCount)
            if let gateway = UInt32(f[2], radix: 16), gateway != 0 { text += " via " + formatIPv4LittleEndian(gateway) }
            facts.routes[name, default: []].append(text)
        }
        if root.isHostRoot { facts.addIPv4FromGetifaddrs() }
        return facts
    }

    mutating func addIPv4FromGetifaddrs() {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, Int32(sa.pointee.sa_family) == AF_INET else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            var prefix = 32
            if let mask = entry.pointee.ifa_netmask {
                prefix = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr.nonzeroBitCount }
            }
            // s_addr is in network order, i.e. little-endian bytes as the /proc/net/route fields.
            let text = formatIPv4LittleEndian(address) + "/" + String(prefix)
            if !(addresses[name]?.contains(text) ?? false) { addresses[name, default: []].append(text) }
        }
    }
}

/// `0002000A` from /proc/net/route (host order of a little-endian machine) → `10.0.2.0`.
func formatIPv4LittleEndian(_ value: UInt32) -> String {
    [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, value >> 24].map { String($0) }.joined(separator: ".")
}

/// 32 hex digits → the usual compressed IPv6 text (`fd00::1`).
func formatIPv6(_ hex: String) -> String {
    let chars = Array(hex)
    var groups: [UInt16] = []
    for i in stride(from: 0, to: 32, by: 4) { groups.append(UInt16(String(chars[i..<i + 4]), radix: 16) ?? 0) }
    // The longest run of two or more zero groups becomes "::".
    var bestStart = -1
    var bestLength = 1
    var i = 0
    while i < 8 {
        if groups[i] == 0 {
            var j = i
            while j < 8 && groups[j] == 0 { j += 1 }
            if j - i > bestLength {
                bestStart = i
                bestLength = j - i
            }
            i = j
        } else {
            i += 1
        }
    }
    func text(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
    if bestStart < 0 { return text(0..<8) }
    return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
}
