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
}
