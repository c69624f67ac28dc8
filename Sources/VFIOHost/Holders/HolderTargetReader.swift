import CLinuxShim
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads, from sysfs (and `/dev` as a fallback), what the holder scan needs to know about its
/// targets: driver, group, the device numbers of the group node and the device cdev, `enable`.
public struct HolderTargetReader: Sendable {
    public let root: HostRoot
    /// What a node under `/dev` stands for (`st_rdev` on a host).
    public let deviceNumbers: DeviceNumbers

    public init(root: HostRoot, deviceNumbers: DeviceNumbers = .real) {
        self.root = root
        self.deviceNumbers = deviceNumbers
    }

    /// The misc minor of `/dev/vfio/vfio` is fixed (VFIO_MINOR in include/linux/miscdevice.h), so a
    /// container's own mknod'ed copy has it too even when this root has no node.
    static let legacyContainer = DeviceNumber(major: 10, minor: 196)

    public func read(_ addresses: [PCIAddress]) -> [HolderTarget] {
        let groups = groupNodes()
        return addresses.map { read($0, groups: groups) }
    }

    func read(_ address: PCIAddress, groups: [Int: VFIONode]) -> HolderTarget {
        let dir = root.device(address)
        guard Sysfs.exists(dir + "/vendor") else { return HolderTarget(address: address, present: false) }
        let driver = Sysfs.linkName(dir + "/driver")
        let vfioName = Sysfs.list(dir + "/vfio-dev")?.filter { $0.hasPrefix("vfio") }.sorted().first
        let group = Sysfs.linkName(dir + "/iommu_group").flatMap { Int($0) }
        var deviceNode: VFIONode?
        if let vfioName {
            let path = "/dev/vfio/devices/" + vfioName
            // `dev` exists only with CONFIG_VFIO_DEVICE_CDEV; without it there is no cdev to hold.
            if let number = Sysfs.read(dir + "/vfio-dev/" + vfioName + "/dev").flatMap({ DeviceNumber(parsing: $0) })
                ?? deviceNumbers.number(atPath: root.path(path))
            {
                deviceNode = VFIONode(path: path, number: number)
            }
        }
        return HolderTarget(
            address: address, present: true, driver: driver, vfioBound: vfioName != nil || DriverName.isVFIO(driver), group: group,
            groupNode: group.flatMap { groups[$0] }, deviceNode: deviceNode, vfioDeviceName: vfioName,
            enableCount: Sysfs.readInt(dir + "/enable"))
    }

    /// Every VFIO group node on the host, by group number. The class device is the kernel's
    /// word (`/sys/class/vfio/N/dev`; `noiommu-N` in no-IOMMU mode); `/dev/vfio` fills in
    /// when sysfs has no class directory (old kernels, partial chroots).
    public func groupNodes() -> [Int: VFIONode] {
        var nodes: [Int: VFIONode] = [:]
        let classDir = root.path("/sys/class/vfio")
        for name in Sysfs.list(classDir) ?? [] {
            guard let id = Self.groupNumber(name),
                let number = Sysfs.read(classDir + "/" + name + "/dev").flatMap({ DeviceNumber(parsing: $0) })
            else { continue }
            nodes[id] = VFIONode(path: "/dev/vfio/" + name, number: number)
        }
        for name in Sysfs.list(root.devVFIO) ?? [] {
            guard let id = Self.groupNumber(name), nodes[id] == nil, let number = deviceNumbers.number(atPath: root.devVFIO + "/" + name) else { continue }
            nodes[id] = VFIONode(path: "/dev/vfio/" + name, number: number)
        }
        return nodes
    }

    /// The container nodes: `/dev/vfio/vfio` (legacy) and `/dev/iommu` (iommufd).
    public func containerNumbers() -> [DeviceNumber] {
        var numbers: Set<DeviceNumber> = [Self.legacyContainer]
        for path in ["/dev/vfio/vfio", "/dev/iommu"] {
            if let number = deviceNumbers.number(atPath: root.path(path)) { numbers.insert(number) }
        }
        for path in ["/sys/class/misc/vfio/dev", "/sys/class/misc/iommu/dev"] {
            if let number = Sysfs.read(root.path(path)).flatMap({ DeviceNumber(parsing: $0) }) { numbers.insert(number) }
        }
        return numbers.sorted()
    }

    /// `12` or `noiommu-12` → 12.
    static func groupNumber(_ name: String) -> Int? {
        let digits = name.hasPrefix("noiommu-") ? Substring(name.dropFirst(8)) : Substring(name)
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(digits)
    }
}
