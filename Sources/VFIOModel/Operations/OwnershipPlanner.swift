/// The pure rules of `bind --owner` (docs/kernel-notes.md, "Who may open a VFIO node"): which
/// nodes change hands, the steps that do it, the steps that give them back, and when an owner
/// would collide with another one on the same group node.
public enum OwnershipPlanner {
    /// The group node of IOMMU group `group` (host-absolute).
    public static func groupNode(_ group: Int) -> String { "/dev/vfio/" + String(group) }

    /// The device cdev `/dev/vfio/devices/vfioX` for the `vfio-dev/vfioX` entry `name`.
    public static func cdevNode(_ name: String) -> String { "/dev/vfio/devices/" + name }

    /// chown and chmod of every node, in order.
    public static func steps(_ owner: NodeOwner, nodes: [String]) -> [OperationStep] {
        nodes.flatMap { [OperationStep.setOwner(path: $0, uid: owner.uid, gid: owner.gid), .setMode(path: $0, mode: owner.mode)] }
    }

    /// The nodes back as the kernel makes them: root:root 0600.
    public static func resetSteps(nodes: [String]) -> [OperationStep] {
        steps(.kernelDefault, nodes: nodes)
    }

    /// A bind with `owner` on `groups` is refused when a device vfioctl already recorded in one
    /// of them has a different owner: the group node is one file, it cannot belong to both.
    /// Devices the bind itself moves (`addresses`) do not count against it.
    public static func conflicts(
        owner: NodeOwner, groups: [Int], addresses: Set<PCIAddress>, state: HostState
    ) -> [BindRefusal.Reason] {
        state.devices.compactMap { record in
            guard let group = record.group, groups.contains(group), !addresses.contains(record.address),
                let other = record.owner, other.uid != owner.uid || other.gid != owner.gid || other.mode != owner.mode
            else { return nil }
            return BindRefusal.Reason(
                kind: .ownerConflict, address: record.address, group: group, driver: record.boundDriver, use: nil,
                message: "group \(group) is owned by \(other.description) for \(record.address), so its node cannot be given to \(owner.description)",
                remedy: "bind with --owner \(other.description), or unbind \(record.address) first")
        }
    }

    /// After a release: the groups whose nodes go back to root, because no device still
    /// recorded in them has an owner.
    public static func groupsToReset(released: [DeviceRecord], remaining: HostState) -> [Int] {
        let groups = Set(released.filter { $0.owner != nil }.compactMap(\.group))
        return groups.filter { group in !remaining.devices.contains { $0.group == group && $0.owner != nil } }.sorted()
    }
}
