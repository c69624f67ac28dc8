/// Where `vfioctl unbind --to` sends devices.
public enum ReleaseDestination: Sendable, Equatable, CustomStringConvertible {
    /// The driver recorded at bind time; without a record the kernel chooses (`drivers_probe`).
    case recorded
    /// `--to DRIVER`.
    case driver(String)
    /// `--to none`: leave it unbound.
    case none

    public var description: String {
        switch self {
        case .recorded: "its original driver"
        case .driver(let d): d
        case .none: "no driver"
        }
    }
}

/// What `unbind`, `restore` or `cycle` was asked to do.
public struct ReleaseRequest: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case unbind, restore, cycle
    }

    public var kind: Kind
    /// Empty for `restore` (every recorded device).
    public var targets: [Target]
    public var destination: ReleaseDestination
    /// `--group`: every VFIO-bound member of each target's group goes too.
    public var wholeGroup: Bool
    /// restore: only the devices recorded as bound for this VM (`restore --domain`).
    public var domain: String?

    public init(kind: Kind, targets: [Target], destination: ReleaseDestination = .recorded, wholeGroup: Bool = false, domain: String? = nil) {
        self.kind = kind
        self.domain = domain
        self.targets = targets
        self.destination = destination
        self.wholeGroup = wholeGroup
    }
}

/// One device the plan moves: off its VFIO driver to `to` (unbind, restore), or off and back
/// onto the same VFIO driver (cycle).
public struct ReleaseMove: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable {
        /// The user named it (or its group, or its ids), or restore found its record.
        case requested
        /// `--group` took it along.
        case groupPeer = "group-peer"
    }

    /// Where the new driver comes from.
    public enum Source: String, Sendable, Codable {
        /// The state file's record of the driver it had before vfioctl moved it.
        case recorded
        /// `--to`.
        case requested
        /// No record: `drivers_probe` lets the kernel choose.
        case kernel
        /// cycle: the same VFIO driver again.
        case same
    }

    public var address: PCIAddress
    public var group: Int?
    public var from: DriverState
    /// nil driver with `source == .kernel`: whatever the kernel picks (possibly nothing).
    public var to: DriverState
    public var source: Source
    public var reason: Reason
    public var steps: [OperationStep]
    /// The device leaves VFIO for a driver that uses the DMA API (or one the kernel picks), so
    /// its group's other VFIO members must not be held when it does.
    public var toHostDMA: Bool
    /// Its SR-IOV VFs (a PF on a VFIO driver with VFs enabled): they go away with the unbind.
    public var virtualFunctions: [PCIAddress]

    /// The driver it ends on, for messages: `e1000e`, `no driver`, `the kernel's choice`.
    public var destinationText: String {
        if source == .kernel { return "the driver the kernel picks" }
        return to.driver ?? "no driver"
    }
}

/// A named device the plan leaves alone, and why.
public struct ReleaseKept: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable {
        /// Not on a VFIO driver (already on the requested or recorded driver, or unbound with
        /// nowhere to go): nothing to do.
        case alreadyReleased = "already-released"
        /// restore: on its original driver already (the record is dropped).
        case unchanged
        /// A member of a named group that is not VFIO-bound (a bridge, a port, a host device).
        case notVFIO = "not-vfio"
        /// restore: the recorded device is no longer on the bus (the record is dropped).
        case gone
    }
    public var address: PCIAddress
    public var group: Int?
    public var driver: String?
    public var reason: Reason
    public var message: String
}

/// Devices that are released together: the moves of one IOMMU group. `restore` releases units
/// independently (one whose holders stay past the timeout does not keep the others); `unbind`
/// and `cycle` release all units or none.
public struct ReleaseUnit: Sendable, Equatable {
    /// The group, or nil for a device without one.
    public var group: Int?
    public var moves: [ReleaseMove]
    /// What must be free before the first write: the moving devices, plus the group's other
    /// VFIO-bound members when one of them goes to a host DMA driver (the kernel refuses that
    /// driver with EBUSY while userspace owns the group, and crashed before 5.19).
    public var waitFor: [PCIAddress]
    /// The VFs that go away with a moving PF: any holder of them refuses the release (the PF's
    /// unbind would block like a held unbind).
    public var virtualFunctions: [PCIAddress]
}

/// The plan for `unbind`, `restore` or `cycle`.
public struct ReleasePlan: Sendable, Equatable {
    public var request: ReleaseRequest
    public var units: [ReleaseUnit]
    public var kept: [ReleaseKept]
    public var warnings: [String]

    public var moves: [ReleaseMove] { units.flatMap(\.moves) }
    public var steps: [OperationStep] { moves.flatMap(\.steps) }
    public var waitFor: [PCIAddress] { Self.unique(units.flatMap(\.waitFor)) }
    public var virtualFunctions: [PCIAddress] { Self.unique(units.flatMap(\.virtualFunctions)) }
    public var isNoOp: Bool { units.isEmpty }

    public static func unique(_ addresses: [PCIAddress]) -> [PCIAddress] {
        var seen = Set<PCIAddress>()
        return addresses.filter { seen.insert($0).inserted }
    }
}

/// Why a release is refused before anything is written.
public struct ReleaseRefusal: Error, Sendable, Equatable {
    public struct Reason: Sendable, Equatable {
        public enum Kind: String, Sendable, Codable {
            /// The device is on a host driver, and `--to` asks to move it: not unbind's job.
            case hostDriver = "host-driver"
            /// A PF whose VFs are held (or cycle of a PF with VFs).
            case virtualFunctions = "virtual-functions"
            /// cycle of a device that is not on a VFIO driver.
            case notVFIO = "not-vfio"
        }
        public var kind: Kind
        public var address: PCIAddress
        public var group: Int?
        public var driver: String?
        public var message: String
        public var remedy: String

        public var line: String { message + "; " + remedy }

        public init(kind: Kind, address: PCIAddress, group: Int?, driver: String?, message: String, remedy: String) {
            self.kind = kind
            self.address = address
            self.group = group
            self.driver = driver
            self.message = message
            self.remedy = remedy
        }
    }
    public var reasons: [Reason]

    public init(reasons: [Reason]) { self.reasons = reasons }
    public var message: String { reasons.map(\.line).joined(separator: "\n") }
}

public enum ReleaseDecision: Sendable, Equatable {
    case plan(ReleasePlan)
    case refused(ReleaseRefusal)
}
