/// What `vfioctl bind` was asked to do.
public struct BindRequest: Sendable, Equatable {
    public var targets: [Target]
    /// vfio-pci or a VFIO variant driver.
    public var driver: String
    /// `--group`: also move every other endpoint of each group that would block it.
    public var wholeGroup: Bool
    /// `--force`: override the in-use checks that can be overridden.
    public var force: Bool
    /// `--owner USER[:GROUP]`: who gets the VFIO nodes once the bind is verified.
    public var owner: OwnerSpec?
    /// The owner's udev rules go under /etc/udev/rules.d (an `apply` entry, kept across
    /// reboots) instead of /run/udev/rules.d (a bind).
    public var persistentRules = false
    /// `--wait`: how long to wait for host processes that hold the devices' own nodes to let go
    /// before refusing; nil refuses at once.
    public var holderTimeout: Duration?
    /// The VM the devices are bound for (`vfioctl hook`): recorded with each moved device.
    public var domain: String?

    public init(
        targets: [Target], driver: String = DriverName.vfioPCI, wholeGroup: Bool = false, force: Bool = false, owner: OwnerSpec? = nil,
        holderTimeout: Duration? = nil
    ) {
        self.targets = targets
        self.driver = driver
        self.wholeGroup = wholeGroup
        self.force = force
        self.owner = owner
        self.holderTimeout = holderTimeout
    }
}

/// Facts about the running kernel the planner needs besides the device inventory
/// (`BindEnvironment.read(root:)` reads them).
public struct BindEnvironment: Sendable, Equatable {
    /// `/sys/module/vfio/parameters/enable_unsafe_noiommu_mode` is `Y` (absent: off).
    public var noiommuEnabled: Bool
    /// Names under `/sys/bus/pci/drivers`.
    public var loadedDrivers: Set<String>

    public init(noiommuEnabled: Bool, loadedDrivers: Set<String>) {
        self.noiommuEnabled = noiommuEnabled
        self.loadedDrivers = loadedDrivers
    }
}

/// One device that changes driver, with the exact steps.
public struct DeviceMove: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable {
        /// The user named it (or its group, or its ids).
        case requested
        /// `--group` took it along because it would block the group.
        case groupPeer = "group-peer"
    }
    public var address: PCIAddress
    public var group: Int?
    public var from: DriverState
    public var to: DriverState
    public var reason: Reason
    public var steps: [OperationStep]
}

/// A device the plan leaves as it is, and why.
public struct DeviceKept: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable {
        /// Already bound to the requested driver: nothing to do.
        case alreadyBound = "already-bound"
        /// A bridge: vfio-pci cannot take it and it does not block (unbound, pcieport or pci-stub).
        case bridge
        /// pci-stub or pcieport: they manage DMA themselves, so they never block a group.
        case dmaManaged = "dma-managed"
        /// Unbound: it does not block the group.
        case unbound
        /// On another VFIO driver: it does not block the group.
        case otherVFIODriver = "other-vfio-driver"
    }
    public var address: PCIAddress
    public var group: Int?
    public var driver: String?
    public var reason: Reason
}

/// The plan for a bind: which devices move and how, in order. Executing it is the executor's
/// job; printing it is `--dry-run`.
public struct BindPlan: Sendable, Equatable {
    public var request: BindRequest
    /// `modprobe` this first (the driver's directory is missing).
    public var loadModule: String?
    public var moves: [DeviceMove]
    public var kept: [DeviceKept]
    /// Checks that `--force` overrode.
    public var forced: [DeviceUse]
    public var warnings: [String]
    /// Groups the plan touches, ascending.
    public var groups: [Int]
    /// What the user should know about the result (e.g. an SR-IOV PF's VF token).
    public var notes: [String] = []
    /// `--owner`, resolved: who gets the nodes of `groups` and of the bound devices.
    public var owner: NodeOwner?
    /// Its udev rules go under /etc (an `apply` entry) instead of /run (a bind).
    public var persistentRules: Bool { request.persistentRules }
    /// The devices whose nodes an owner gets: those moved and those already bound.
    public var ownedAddresses: [PCIAddress] {
        (moves.map(\.address) + kept.filter { $0.reason == .alreadyBound }.map(\.address)).sorted()
    }
    /// The chown/chmod of the group nodes (the devices' cdevs are added once they exist).
    public var ownershipSteps: [OperationStep] {
        guard let owner else { return [] }
        return OwnershipPlanner.steps(owner, nodes: groups.map(OwnershipPlanner.groupNode))
    }

    /// Every step in order, including the module load and, with an owner, the group nodes'
    /// chown and chmod.
    public var steps: [OperationStep] {
        (loadModule.map { [OperationStep.loadModule($0)] } ?? []) + moves.flatMap(\.steps) + ownershipSteps
    }

    public var writes: [SysfsWrite] {
        steps.compactMap { if case .write(let w) = $0 { return w } else { return nil } }
    }

    /// No device moves: every requested device is already bound (an owner may still be set).
    public var isNoOp: Bool { moves.isEmpty }
}

/// Why a bind is refused. Each reason names the device, what is wrong and what would work.
public struct BindRefusal: Error, Sendable, Equatable {
    public struct Reason: Sendable, Equatable {
        public enum Kind: String, Sendable, Codable {
            /// The group would be left with members on host DMA drivers.
            case groupNotViable = "group-not-viable"
            /// A bridge was named; vfio-pci only takes endpoints.
            case bridge
            /// The host uses the device (see `DeviceUse`).
            case inUse = "in-use"
            /// `--owner` names someone else than the owner of a device already in the group.
            case ownerConflict = "owner-conflict"
        }
        public var kind: Kind
        public var address: PCIAddress
        public var group: Int?
        /// The blocking member's driver (group-not-viable).
        public var driver: String?
        public var use: DeviceUse?
        public var message: String
        /// What to do instead: a command, or how to free the device.
        public var remedy: String

        public var line: String { message + "; " + remedy }
    }
    public var reasons: [Reason]

    public var message: String { reasons.map(\.line).joined(separator: "\n") }

    /// The devices to wait for when every reason is a host process holding one of their nodes:
    /// the only refusal that goes away by itself. nil when any other reason stands (a mount, a
    /// bridge port, a group rule), which no wait would clear.
    public var devicesHeldOnlyByProcesses: [PCIAddress]? {
        guard !reasons.isEmpty, reasons.allSatisfy({ $0.kind == .inUse && $0.use?.kind == .openDeviceNode }) else { return nil }
        var seen = Set<PCIAddress>()
        return reasons.map(\.address).filter { seen.insert($0).inserted }
    }

    public init(reasons: [Reason]) {
        self.reasons = reasons
    }
}
