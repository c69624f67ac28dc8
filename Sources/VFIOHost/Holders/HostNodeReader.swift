import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads, from `/sys/dev/char` and `/sys/dev/block` under the root prefix, the device nodes of
/// PCI functions. Each entry there is a `MAJ:MIN` link to the device's sysfs directory, so one
/// listing of each names every node the kernel registered, whatever subsystem made it. Block
/// devices bring their partitions (subdirectories, listed there too) and, through `holders/`,
/// every dm/md device stacked on them, transitively; an NVMe multipath head counts for every
/// controller it has a path through.
public struct HostNodeReader: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    /// The nodes of each of `devices` (a device with none maps to an empty list).
    public func nodes(of devices: [PCIAddress]) -> [PCIAddress: [HostNode]] {
        var result: [PCIAddress: [HostNode]] = [:]
        guard !devices.isEmpty else { return result }
        let chars = entries(.char)
        let blocks = entries(.block)
        for address in devices {
            guard let deviceReal = Self.realPath(root.device(address)) else {
                result[address] = []
                continue
            }
            var nodes = chars.filter { Self.isBelow($0.real, deviceReal) }.map { node($0, kind: .char, via: nil) }
            if let nvidia = nvidiaNode(address) { nodes.append(nvidia) }
            nodes += stackedBlocks(blocks.filter { Self.isBelow($0.real, deviceReal) || Self.hasPath(below: deviceReal, $0) }, all: blocks)
            result[address] = nodes.sorted { ($0.kind.rawValue, $0.path) < ($1.kind.rawValue, $1.path) }
        }
        return result
    }

    /// The NVIDIA driver's `/dev/nvidiaN`, which it registers with no sysfs device (so
    /// `/sys/dev/char` does not list it): its minor is the GPU's `Device Minor:` in
    /// `/proc/driver/nvidia/gpus/BDF/information`, on the driver's fixed major 195.
    func nvidiaNode(_ address: PCIAddress) -> HostNode? {
        guard let text = Sysfs.read(root.path("/proc/driver/nvidia/gpus/" + address.description + "/information")),
            let minor = Self.nvidiaMinor(text)
        else { return nil }
        return HostNode(kind: .char, path: "/dev/nvidia" + String(minor), number: DeviceNumber(major: Self.nvidiaMajor, minor: minor))
    }

    /// `NV_MAJOR_DEVICE_NUMBER` in the driver's kernel interface.
    static let nvidiaMajor: UInt32 = 195

    /// `Device Minor: \t 0` from the GPU's information file; the driver's control node
    /// (`nvidiactl`) takes 255, so a GPU's minor is below it.
    static func nvidiaMinor(_ information: String) -> UInt32? {
        for line in information.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].split(whereSeparator: \.isWhitespace).joined(separator: " ") == "Device Minor" else { continue }
            guard let value = parts[1].split(whereSeparator: \.isWhitespace).first, let minor = UInt32(value), minor < 255 else { return nil }
            return minor
        }
        return nil
    }

    struct Entry {
        var number: DeviceNumber
        var real: String
    }

    /// Every `/sys/dev/<kind>/MAJ:MIN` with its real sysfs directory.
    func entries(_ kind: HostNode.Kind) -> [Entry] {
        let dir = root.path("/sys/dev/" + kind.rawValue)
        return (Sysfs.list(dir) ?? []).compactMap { name in
            guard let number = DeviceNumber(parsing: name), let real = Self.realPath(dir + "/" + name) else { return nil }
            return Entry(number: number, real: real)
        }
    }

    /// The block devices `direct` and every device stacked on them through `holders/`.
    func stackedBlocks(_ direct: [Entry], all: [Entry]) -> [HostNode] {
        var byName: [String: Entry] = [:]
        for entry in all { byName[Self.base(entry.real)] = entry }
        var seen = Set(direct.map(\.number))
        var nodes = direct.map { node($0, kind: .block, via: nil) }
        var queue = direct
        while let lower = queue.popLast() {
            // Partitions are subdirectories of their disk (which, for a multipath head, is not
            // below the function).
            for partition in all where Self.isBelow(partition.real, lower.real) && seen.insert(partition.number).inserted {
                nodes.append(node(partition, kind: .block, via: nil))
                queue.append(partition)
            }
            let lowerName = Self.base(lower.real)
            for holder in (Sysfs.list(lower.real + "/holders") ?? []).sorted() {
                guard let upper = byName[holder], seen.insert(upper.number).inserted else { continue }
                let label = holder + (Sysfs.read(upper.real + "/dm/name").map { " (" + $0 + ")" } ?? "") + " on " + lowerName
                nodes.append(node(upper, kind: .block, via: label))
                queue.append(upper)
            }
        }
        return nodes
    }

    func node(_ entry: Entry, kind: HostNode.Kind, via: String?) -> HostNode {
        let name = Sysfs.read(entry.real + "/uevent").flatMap(Self.devName) ?? Self.base(entry.real)
        return HostNode(kind: kind, path: "/dev/" + name, number: entry.number, via: via)
    }

    /// `DEVNAME=dri/card0` from a uevent file.
    static func devName(_ uevent: String) -> String? {
        for line in uevent.split(separator: "\n") where line.hasPrefix("DEVNAME=") {
            let name = String(line.dropFirst(8))
            // A name is relative to /dev and never climbs out of it.
            guard !name.isEmpty, !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else { return nil }
            return name
        }
        return nil
    }

    /// An NVMe multipath head: with native multipath the namespace's disk lives under
    /// `/sys/devices/virtual/nvme-subsystem`, and its `multipath/` links name the hidden
    /// per-controller paths below the controllers.
    static func hasPath(below deviceReal: String, _ entry: Entry) -> Bool {
        guard let paths = Sysfs.list(entry.real + "/multipath") else { return false }
        return paths.contains { realPath(entry.real + "/multipath/" + $0).map { isBelow($0, deviceReal) } ?? false }
    }

    static func base(_ path: String) -> String { Sysfs.lastComponent(path) ?? path }

    static func isBelow(_ path: String, _ dir: String) -> Bool { path.hasPrefix(dir + "/") }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
