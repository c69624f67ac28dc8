import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

extension CDISpec.Nodes {
    /// Which VFIO nodes exist under the root prefix for the VFIO-bound devices of `inventory`.
    public static func read(root: HostRoot, inventory: HostInventory) -> CDISpec.Nodes {
        let reader = VFIONodeReader(root: root)
        var groupNodes: [Int: String] = [:]
        var cdevs: [PCIAddress: [String]] = [:]
        for group in inventory.sortedGroups where inventory.members(of: group).contains(where: \.isVFIOBound) {
            groupNodes[group.id] = reader.groupNode(group.id)
            for device in inventory.members(of: group) where device.isVFIOBound {
                cdevs[device.address] = reader.cdevNodes(device.address)
            }
        }
        return CDISpec.Nodes(
            container: reader.exists("/dev/vfio/vfio"), iommufd: reader.exists("/dev/iommu"), groupNodes: groupNodes, cdevs: cdevs)
    }
}

extension CDISpec {
    /// The spec for the host under `root` as it is now.
    public static func read(root: HostRoot, kind: String = defaultKind) throws(VFIOError) -> CDISpec {
        let inventory = try InventoryReader(root: root, database: nil, fields: .forChanges).read()
        return build(inventory: inventory, nodes: .read(root: root, inventory: inventory), kind: kind)
    }

    /// Writes the spec to `path` (a real path, already under any root prefix) unless the file
    /// already has exactly this content; readers (a container runtime watching /etc/cdi) see
    /// the old or the new file, never a partial one.
    /// - Returns: whether the file changed.
    public func write(to path: String) throws(VFIOError) -> Bool {
        let bytes = encoded()
        if let current = Sysfs.readBytes(path, limit: 1 << 24), current == bytes { return false }
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        try AtomicFile.write(bytes, to: path, directory: directory, mode: 0o644)
        return true
    }
}
