import VFIOModel

/// `vfioctl bind --json` (and `--dry-run --json`).
package struct BindDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var command = "bind"
    package var dryRun: Bool
    package var changed: Bool
    package var driver: String
    @Nullable package var loadModule: String?
    package var devices: [DeviceEntry]
    package var steps: [StepEntry]
    package var groups: [GroupEntry]
    package var forced: [UseEntry]
    package var warnings: [String]
    package var notes: [String]
    /// `--owner`: who gets the nodes (null without it), the nodes given and the udev rules written.
    @Nullable package var owner: OwnerEntry?
    package var ownedNodes: [String]
    package var rules: [String]
    var stateFile = HostFiles.state

    package struct OwnerEntry: Encodable {
        var user: String
        var uid: UInt32
        @Nullable var group: String?
        var gid: UInt32
        var mode: String

        init(_ owner: NodeOwner) {
            user = owner.user
            uid = owner.uid
            group = owner.group
            gid = owner.gid
            mode = owner.modeText
        }
    }

    package struct DeviceEntry: Encodable {
        var address: String
        @Nullable var group: Int?
        /// `bind` or `keep`.
        var action: String
        /// requested / group-peer, or why it is kept (already-bound, bridge, dma-managed, unbound, other-vfio-driver).
        var reason: String
        @Nullable var fromDriver: String?
        @Nullable var fromOverride: String?
        @Nullable var toDriver: String?
    }

    package struct GroupEntry: Encodable {
        var id: Int
        var viable: Bool
        /// The group node (`/dev/vfio/N`, `noiommu-N`); null on a kernel without the group
        /// interface, where only the devices' cdevs exist.
        @Nullable var node: String?
        /// Whether VFIO will attach it on this host (interrupt isolation); null when not judged.
        @Nullable var attach: AttachJSON?
    }

    package struct UseEntry: Encodable {
        var address: String
        var kind: String
        var what: String
        var remedy: String
    }

    package init(
        plan: BindPlan, inventory: HostInventory, root: HostRoot, dryRun: Bool, changed: Bool, report: BindReport? = nil,
        attach: [Int: AttachVerdict] = [:], groupNodes: [Int: GroupNodes] = [:]
    ) {
        owner = plan.owner.map(OwnerEntry.init)
        ownedNodes = report?.ownedNodes ?? []
        rules = report?.rules ?? []
        self.dryRun = dryRun
        self.changed = changed
        driver = plan.request.driver
        loadModule = plan.loadModule
        var entries = plan.moves.map {
            DeviceEntry(
                address: $0.address.description, group: $0.group, action: "bind", reason: $0.reason.rawValue, fromDriver: $0.from.driver,
                fromOverride: $0.from.override, toDriver: $0.to.driver)
        }
        entries += plan.kept.map {
            DeviceEntry(
                address: $0.address.description, group: $0.group, action: "keep", reason: $0.reason.rawValue, fromDriver: $0.driver,
                fromOverride: inventory.device($0.address)?.driverOverride, toDriver: $0.driver)
        }
        devices = entries.sorted { $0.address < $1.address }
        steps = plan.steps.map { StepEntry($0, root: root) }
        groups = plan.groups.map {
            // A dry run names /dev/vfio/N for a group that has no node yet.
            GroupEntry(
                id: $0, viable: BindRendering.groupViableAfter($0, plan: plan, inventory: inventory),
                node: dryRun ? groupNodes[$0]?.existing ?? OwnershipPlanner.groupNode($0) : groupNodes[$0]?.bound, attach: attach[$0].map(AttachJSON.init))
        }
        forced = plan.forced.map { UseEntry(address: $0.address.description, kind: $0.kind.rawValue, what: $0.what, remedy: $0.remedy) }
        warnings = plan.warnings + BindRendering.attachWarnings(plan, inventory: inventory, attach: attach)
        notes = plan.notes
    }
}
