/// How long a release waits for holders.
public struct ReleaseWait: Sendable, Equatable {
    /// The bound on the whole wait, re-checks included.
    public var timeout: Duration
    /// `--no-wait`: look once; if anything holds the devices, give up at once.
    public var noWait: Bool

    public init(timeout: Duration, noWait: Bool = false) {
        self.timeout = noWait ? .zero : timeout
        self.noWait = noWait
    }
}

/// What `HostSession.release` (unbind, restore, cycle) did.
public enum ReleaseOutcome: Sendable {
    /// Refused before anything was written: by the planner, or because a PF's VFs are held.
    case refused(ReleaseRefusal)
    /// A dry run: the plan, who holds its devices now (nil when the scan failed), and for a
    /// whole restore the PFs whose VF count and autoprobe it would put back last.
    case planned(ReleasePlan, holders: HolderReport?, wait: ReleaseWait, sriov: [SRIOVRestoreResult] = [])
    /// It ran: nothing to do, gave up waiting (nothing changed), or released what was free.
    case finished(ReleaseRun)

    public var exitStatus: ExitStatus {
        switch self {
        case .refused: .refused
        case .planned: .success
        case .finished(let run): run.exitStatus
        }
    }
}

/// A release that ran: the plan it ended with, the wait, and each unit's fate.
public struct ReleaseRun: Sendable {
    public var plan: ReleasePlan
    public var wait: ReleaseWait
    public var waited: Duration = .zero
    /// /proc scans the wait took.
    public var scans = 0
    /// The last scan that found holders.
    public var lastReport: HolderReport?
    /// Units left alone because their holders stayed past the timeout.
    public var timedOut: [ReleaseUnit] = []
    /// restore: units left alone because their PF's VFs are held, and the reasons.
    public var refused: [ReleaseUnit] = []
    public var refusals: [ReleaseRefusal.Reason] = []
    /// What became of each device whose writes ran.
    public var report: ReleaseReport?
    /// restore: the PFs whose VF count and autoprobe were put back (or why not).
    public var sriov: [SRIOVRestoreResult] = []

    public init(plan: ReleasePlan, wait: ReleaseWait) {
        self.plan = plan
        self.wait = wait
    }

    /// Nothing was written because holders stayed: unbind and cycle give up as a whole, and
    /// so does restore when no group is free.
    public var gaveUp: Bool { report == nil && !timedOut.isEmpty }

    public func result(of address: PCIAddress) -> ReleaseResult? { report?.results[address] }
    public func isTimedOut(_ address: PCIAddress) -> Bool { timedOut.contains { $0.contains(address) } }
    public func isRefused(_ address: PCIAddress) -> Bool { refused.contains { $0.contains(address) } }

    /// Devices of the last scan that are held but not released by this plan: members of a group
    /// whose host-driver release needs them free.
    public var heldPeers: [PCIAddress] {
        guard let lastReport else { return [] }
        let moving = Set(plan.moves.map(\.address))
        return lastReport.targets.filter { !$0.state.isFree && !moving.contains($0.target.address) }.map(\.target.address)
    }

    public var exitStatus: ExitStatus {
        if gaveUp { return .timedOut }
        if let error = report?.error { return error.exitStatus }
        if let error = sriov.compactMap(\.error).first(where: { $0.kind != .refused }) { return error.exitStatus }
        if !refused.isEmpty || sriov.contains(where: { $0.error != nil }) { return .refused }
        if !timedOut.isEmpty { return .timedOut }
        return .success
    }
}

extension ReleaseUnit {
    func contains(_ address: PCIAddress) -> Bool { moves.contains { $0.address == address } }
    /// Units are told apart by their first move (one unit per group).
    package func isSame(as other: ReleaseUnit) -> Bool { moves.first?.address == other.moves.first?.address }
}
