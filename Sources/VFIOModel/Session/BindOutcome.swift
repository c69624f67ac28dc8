/// What `HostSession.bind` did.
public struct BindOutcome: Sendable {
    public enum Result: Sendable {
        /// A safety check refused it; nothing was changed.
        case refused(BindRefusal)
        /// `--wait` ran out: host processes still held the devices' nodes; nothing was changed.
        /// The refusal is the last one planned, the report who held them when the wait ended.
        case gaveUp(BindRefusal, report: HolderReport?, waited: Duration)
        /// A dry run: what a bind would do.
        case planned(BindPlan)
        /// Every move was made and verified (or there was nothing to do).
        case bound(BindPlan, BindReport)
        /// A step failed: rolled back, or not fully (the error says which).
        case failed(BindPlan, VFIOError)
    }

    public var result: Result
    /// The snapshot the plan was made from (which groups end viable is read from it).
    public var inventory: HostInventory
    /// Whether VFIO will attach each group of the plan on this host (interrupt isolation); a
    /// group missing here was not judged.
    public var attach: [Int: AttachVerdict] = [:]
    /// The nodes of each group of the plan as the bind left them (or, for a dry run, as they
    /// are now), for the report.
    public var groupNodes: [Int: GroupNodes] = [:]

    public var plan: BindPlan? {
        switch result {
        case .refused, .gaveUp: nil
        case .planned(let plan), .bound(let plan, _), .failed(let plan, _): plan
        }
    }

    public var exitStatus: ExitStatus {
        switch result {
        case .refused: .refused
        case .gaveUp: .timedOut
        case .planned, .bound: .success
        case .failed(_, let error): error.exitStatus
        }
    }

    public init(result: Result, inventory: HostInventory, attach: [Int: AttachVerdict] = [:]) {
        self.result = result
        self.inventory = inventory
        self.attach = attach
    }
}
