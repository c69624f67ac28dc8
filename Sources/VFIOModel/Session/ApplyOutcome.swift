/// What `HostSession.apply` did, device by device, in the order the plan lists them.
public struct ApplyOutcome: Sendable {
    public enum Status: String, Sendable {
        case changed, unchanged, refused, failed, timeout, planned
    }

    /// Why a device ended with its status.
    public enum Detail: Sendable {
        /// Already as desired.
        case none
        /// The apply planner refused it (why).
        case notPossible(String)
        /// Its bind batch: refused (the reasons that name this device, else all of them),
        /// planned, bound or failed.
        case bind(BindOutcome, driver: String)
        /// Its release through the same flow as `unbind`; `to` nil means the recorded driver.
        case release(ReleaseOutcome, to: String?)
        /// Its release stopped before it was planned.
        case releaseError(VFIOError, to: String?)
        /// A PF's VF count (and the VFs' bind), through the same flow as `sriov`.
        case sriov(SRIOVOutcome)
        /// Its `sriov` stopped before it was planned.
        case sriovError(VFIOError)

        /// The exit status of the service call behind it (success when there was none).
        public var exitStatus: ExitStatus {
            switch self {
            case .none, .notPossible: .success
            case .bind(let outcome, _): outcome.exitStatus
            case .release(let outcome, _): outcome.exitStatus
            case .releaseError(let error, _), .sriovError(let error): error.exitStatus
            case .sriov(let outcome): outcome.exitStatus
            }
        }
    }

    public struct Entry: Sendable {
        public var address: PCIAddress
        public var from: String?
        /// The desired driver as the file says it (`vfio-pci`, `host`, `none`).
        public var to: String
        public var source: String
        public var status: Status
        public var detail: Detail

        public init(address: PCIAddress, from: String? = nil, to: String, source: String, status: Status, detail: Detail) {
            self.address = address
            self.from = from
            self.to = to
            self.source = source
            self.status = status
            self.detail = detail
        }
    }

    public var dryRun: Bool
    public var entries: [Entry]
    public var unmatched: [(source: String, reason: String)]
    /// The bind batches' and releases' outcomes in the order they ran (for the dry-run script).
    public var steps: [Detail] = []
    /// The CDI spec file kept in step (`[defaults] cdi =`), after the run; nil when the file
    /// names none or in a dry run.
    public var cdi: CDIUpdate?
    /// The claim-at-add files (udev rule, modprobe file, initramfs hook) kept in step.
    public var claim: ClaimUpdate?
    /// A rollback failed somewhere: a device is not where it was or where it should be.
    public var rollbackFailed: Bool { steps.contains { $0.exitStatus == .rollbackFailed } }

    /// The host matches the file after this run.
    public var matches: Bool {
        !dryRun && entries.allSatisfy { $0.status == .unchanged || $0.status == .changed } && unmatched.isEmpty
    }

    /// The worst per-device result; a dry run changes nothing and succeeds.
    public var exitStatus: ExitStatus {
        if dryRun { return .success }
        if rollbackFailed { return .rollbackFailed }
        var statuses = entries.map { entry -> ExitStatus in
            switch entry.status {
            case .changed, .unchanged, .planned: .success
            case .failed: .failed
            case .timeout: .timedOut
            case .refused: .refused
            }
        }
        if !unmatched.isEmpty { statuses.append(.refused) }
        if cdi?.error != nil { statuses.append(.failed) }
        if claim?.errors.isEmpty == false { statuses.append(.failed) }
        return .worst(statuses)
    }

    public init(dryRun: Bool, entries: [Entry], unmatched: [(source: String, reason: String)], steps: [Detail] = [], cdi: CDIUpdate? = nil) {
        self.dryRun = dryRun
        self.entries = entries
        self.unmatched = unmatched
        self.steps = steps
        self.cdi = cdi
    }
}
