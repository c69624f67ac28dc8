/// What the waiter tells a live status line.
public struct WaitProgress: Sendable {
    public var elapsed: Duration
    public var timeout: Duration
    /// The latest scan.
    public var report: HolderReport

    public init(elapsed: Duration, timeout: Duration, report: HolderReport) {
        self.elapsed = elapsed
        self.timeout = timeout
        self.report = report
    }
}

/// How a wait ended.
public struct WaitOutcome: Sendable {
    public enum Result: Sendable, Equatable {
        case free
        case timedOut
    }

    public var result: Result
    /// The last scan: on a timeout, who still holds the targets.
    public var report: HolderReport
    public var waited: Duration
    /// How many /proc scans the wait took.
    public var scans: Int
    /// What triggered the scan that decided the outcome.
    public var decidedBy: WakeReason
    /// On a free outcome, what triggered the scan that first saw the targets free (`decidedBy`
    /// is then often `.confirm`, the second look, which tells nothing of what ended the hold).
    public var freedBy: WakeReason?

    public var isFree: Bool { result == .free }

    public init(result: Result, report: HolderReport, waited: Duration, scans: Int, decidedBy: WakeReason, freedBy: WakeReason? = nil) {
        self.result = result
        self.report = report
        self.waited = waited
        self.scans = scans
        self.decidedBy = decidedBy
        self.freedBy = freedBy
    }
}
