import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads which VFIO nodes exist for devices and groups under the root prefix, and who owns
/// them. Never opens a node (opening a group node claims it).
public struct VFIONodeReader: Sendable {
    public let root: HostRoot
    /// `/dev/vfio` and the kernel's interfaces read once, for a document that asks about the
    /// nodes of every function (`list --json`); nil: each question is its own `lstat`.
    let listing: Listing?

    public init(root: HostRoot) {
        self.root = root
        self.listing = nil
    }

    /// A reader that lists `/dev/vfio` and `/dev/vfio/devices` now and answers whether a node
    /// exists from those listings: two directory reads instead of a few failing `lstat`s per
    /// VFIO-bound function. For a snapshot that is read at once, as a document is.
    public static func listing(root: HostRoot) -> VFIONodeReader {
        VFIONodeReader(root: root, listing: Listing(root: root))
    }

    private init(root: HostRoot, listing: Listing) {
        self.root = root
        self.listing = listing
    }

    struct Listing: Sendable {
        /// Host-absolute paths of the entries of `/dev/vfio` and `/dev/vfio/devices`.
        let nodes: Set<String>
        let interfaces: VFIOInterfaces

        init(root: HostRoot) {
            var nodes = Set<String>()
            for dir in ["/dev/vfio", "/dev/vfio/devices"] {
                for name in Sysfs.list(root.path(dir)) ?? [] { nodes.insert(dir + "/" + name) }
            }
            self.nodes = nodes
            self.interfaces = VFIOInterfaces.read(root: root)
        }
    }

    /// The group node of `group` that exists (`/dev/vfio/N` or `/dev/vfio/noiommu-N`), host-absolute.
    public func groupNode(_ group: Int) -> String? {
        for path in [OwnershipPlanner.groupNode(group), "/dev/vfio/noiommu-" + String(group)] where exists(path) { return path }
        return nil
    }

    /// The node a program opens for a VFIO-bound group: the group node that exists, else
    /// `/dev/vfio/N` where the kernel has the group interface or cannot tell (VFIO not loaded,
    /// a fixture tree); nil on a kernel without it (CONFIG_VFIO_GROUP=n), where only the
    /// devices' cdevs exist.
    public func boundGroupNode(_ group: Int) -> String? {
        if let node = groupNode(group) { return node }
        return (listing?.interfaces ?? VFIOInterfaces.read(root: root)).cdevOnly ? nil : OwnershipPlanner.groupNode(group)
    }

    /// The cdevs of `address` that exist (`/dev/vfio/devices/vfioX` for each `vfio-dev/vfioX`).
    public func cdevNodes(_ address: PCIAddress) -> [String] {
        (Sysfs.list(root.device(address) + "/vfio-dev") ?? []).sorted().filter(Self.isCdevName).map(OwnershipPlanner.cdevNode).filter(exists)
    }

    /// The nodes of a VFIO-bound function (nil for any other): the group node and cdev a
    /// program opens, with their owner and mode, each looked up once. `made` adds the list
    /// `show` prints: the nodes the kernel makes, a group node unless it was built without the
    /// group interface (`noiommu-N` in no-IOMMU mode), a cdev unless the device is in no-IOMMU
    /// mode or the kernel has no cdevs.
    public func nodes(of device: PCIDevice, made: (interfaces: VFIOInterfaces, noIOMMU: Bool)? = nil) -> VFIONodes? {
        guard device.isVFIOBound else { return nil }
        let groupNode = device.iommuGroup.flatMap(boundGroupNode)
        var deviceNode = device.vfioDeviceName.map { "/dev/vfio/devices/" + $0 }
        if let group = device.iommuGroup, self.groupNode(group)?.hasPrefix("/dev/vfio/noiommu-") == true { deviceNode = nil }
        var nodes = VFIONodes(groupNode: groupNode, deviceNode: deviceNode)
        if let (interfaces, noIOMMU) = made {
            if let group = device.iommuGroup, interfaces.groups {
                nodes.made.append(self.groupNode(group) ?? (noIOMMU ? "/dev/vfio/noiommu-" : "/dev/vfio/") + String(group))
            }
            if let name = device.vfioDeviceName, interfaces.cdevs, !noIOMMU { nodes.made.append("/dev/vfio/devices/" + name) }
        }
        for path in Set([groupNode, deviceNode].compactMap { $0 } + nodes.made) {
            if let status = status(path) { nodes.access[path] = status }
        }
        return nodes
    }

    /// A group's nodes as a bind of `members` leaves them.
    public func groupNodes(_ group: Int, members: [PCIAddress]) -> GroupNodes {
        let bound = boundGroupNode(group)
        return GroupNodes(existing: groupNode(group), bound: bound, memberCdevs: bound == nil ? members.flatMap(cdevNodes) : [])
    }

    /// Every node `bind --owner` changes for these groups and devices, in order: group nodes,
    /// then cdevs.
    public func ownedNodes(groups: [Int], addresses: [PCIAddress]) -> [String] {
        groups.compactMap(groupNode) + addresses.flatMap(cdevNodes)
    }

    public func status(_ path: String) -> NodeStatus? {
        // A node the listing did not see is not there for this snapshot either: no `lstat`
        // (a VFIO-bound function without its node would cost a failing path walk each).
        if let listing, !listing.nodes.contains(path) { return nil }
        var info = stat()
        guard lstat(root.path(path), &info) == 0 else { return nil }
        return NodeStatus(path: path, uid: info.st_uid, gid: info.st_gid, mode: UInt32(info.st_mode) & 0o7777)
    }

    package func exists(_ path: String) -> Bool {
        if let listing { return listing.nodes.contains(path) }
        var info = stat()
        return lstat(root.path(path), &info) == 0
    }

    /// `vfio0`, `vfio12`: the names `vfio_device_add` gives (nothing that could leave /dev/vfio/devices).
    static func isCdevName(_ name: String) -> Bool {
        name.hasPrefix("vfio") && name.count > 4 && name.dropFirst(4).allSatisfy(\.isNumber)
    }
}
