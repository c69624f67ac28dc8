/// What `vfioctl bind` was asked to do.
public struct BindRequest: Sendable, Equatable {
    public var targets: [Target]
    /// vfio-pci or a VFIO variant driver.
    public var driver: String
    /// `--group`: also move every other endpoint of each group that would block it.
    public var wholeGroup: Bool
    /// `--force`: override the in-use checks that can be overridden.
    public var force: Bool

    public init(targets: [Target], driver: String = DriverName.vfioPCI, wholeGroup: Bool = false, force: Bool = false) {
        self.targets = targets
        self.driver = driver
        self.wholeGroup = wholeGroup
        self.force = force
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

    /// Every step in order, including the module load.
    public var steps: [OperationStep] {
        (loadModule.map { [OperationStep.loadModule($0)] } ?? []) + moves.flatMap(\.steps)
    }

    public var writes: [SysfsWrite] {
        steps.compactMap { if case .write(let w) = $0 { return w } else { return nil } }
    }

    /// Nothing to do: every requested device is already bound.
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
}
