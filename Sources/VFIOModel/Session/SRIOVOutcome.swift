/// What `HostSession.sriov` did.
public struct SRIOVOutcome: Sendable {
    public enum Result: Sendable {
        /// A safety check refused it (VFs held or on a VFIO driver, or the VFs' bind); nothing was changed.
        case refused([VFIOError])
        /// A dry run: what it would do.
        case planned
        /// The VFs that would be removed stayed held past `--timeout`; nothing was changed.
        case timedOut(HolderReport, waited: Duration)
        /// Done (or nothing to do).
        case done
        /// A write or the bind failed; `error` says what was put back.
        case failed(VFIOError)
    }

    public var result: Result
    public var plan: SRIOVPlan
    public var bind: SRIOVBind
    /// The VFs the PF has at the end (for a dry run: the ones it would have, when known).
    public var vfs: [PCIAddress]
    /// Whether anything was written.
    public var changed: Bool
    /// What went wrong after the host was changed that does not undo it: the state file could
    /// not be brought up to date (a later `restore` may then act on a stale record).
    public var warnings: [String] = []

    /// The PF's writes, then each VF's `sriov_vf_msix_count` (`--msix`).
    public var writeSteps: [OperationStep] { plan.steps + SRIOVPlanner.msixSteps(vfs, count: plan.msix, rebind: plan.msixRebind) }

    /// A bind plan or predicted bind that would move VFs.
    public static func pendingBinds(_ bind: SRIOVBind) -> Bool {
        switch bind {
        case .none: false
        case .predicted(_, let steps): !steps.isEmpty
        case .plan(let plan): !plan.isNoOp
        }
    }

    public var exitStatus: ExitStatus {
        switch result {
        case .refused: .refused
        case .planned, .done: .success
        case .timedOut: .timedOut
        case .failed(let error): error.exitStatus
        }
    }

    public init(result: Result, plan: SRIOVPlan, bind: SRIOVBind, vfs: [PCIAddress], changed: Bool) {
        self.result = result
        self.plan = plan
        self.bind = bind
        self.vfs = vfs
        self.changed = changed
    }
}

/// What `restore` did to one PF whose VF count vfioctl changed.
public struct SRIOVRestoreResult: Sendable, Equatable {
    public var pf: PCIAddress
    public var numVFs: Int
    public var autoprobe: Bool?
    /// The writes that put the PF back: made, or for a dry run, that would be made.
    public var steps: [OperationStep] = []
    /// nil: put back (or would be); else why not (the record is kept).
    public var error: VFIOError?
    /// Put back, but its record could not be dropped from the state file.
    public var warning: String?

    public init(pf: PCIAddress, numVFs: Int, autoprobe: Bool? = nil, steps: [OperationStep] = [], error: VFIOError? = nil) {
        self.pf = pf
        self.numVFs = numVFs
        self.autoprobe = autoprobe
        self.steps = steps
        self.error = error
    }
}
