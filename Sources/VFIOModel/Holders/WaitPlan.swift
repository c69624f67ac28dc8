/// How the waiter paces itself.
public struct WaitPolicy: Sendable, Equatable {
    /// The periodic rescan: the truth, whatever the events say (inotify misses mknod'ed copies,
    /// anonymous fds and mappings; a pidfd cannot be had for every holder).
    public var rescanInterval: Duration
    /// The periodic rescan waits at least this many times as long as the last scan took, so a
    /// long wait on a host with many processes (or a slow machine) spends at most a tenth of a
    /// core on scanning. Events still wake it at once.
    public var rescanCostFactor: Int
    /// After an event that is not the exit of every holder, how long to wait before the scan that
    /// confirms 'free': a close event (and the fd vanishing from /proc) precede the kernel's
    /// release of the device, which may still be resetting it (`__fput()` notifies before `release()`; docs/kernel-notes.md).
    public var settleDelay: Duration
    /// The least time between two event-driven rescans, so a storm of open/close events on
    /// `/dev/vfio` cannot turn the wait into a busy loop over /proc.
    public var minimumEventGap: Duration
    /// How often the progress callback hears the elapsed time when nothing changes.
    public var progressInterval: Duration
    /// When the inotify watch on `/dev/vfio` is set up, counted from the start of the wait.
    ///
    /// Why not at once: releasing an inotify instance that has watches makes the releasing task
    /// wait for an SRCU grace period (`fsnotify_destroy_group` → `fsnotify_wait_marks_destroyed`),
    /// and a process releases its files before its exit is reported. Measured here that added
    /// 5–15 ms to every wait, more than the wait itself when a holder exits promptly. A holder's
    /// exit is seen through its pidfd anyway; the watch only speeds up closes by processes that
    /// keep running, which the periodic rescan catches within `rescanInterval` before it is set up.
    public var nodeWatchDelay: Duration

    public init(
        rescanInterval: Duration = .milliseconds(250), rescanCostFactor: Int = 10, settleDelay: Duration = .milliseconds(20),
        minimumEventGap: Duration = .milliseconds(50), progressInterval: Duration = .seconds(1), nodeWatchDelay: Duration = .seconds(1)
    ) {
        self.rescanInterval = rescanInterval
        self.rescanCostFactor = rescanCostFactor
        self.settleDelay = settleDelay
        self.minimumEventGap = minimumEventGap
        self.progressInterval = progressInterval
        self.nodeWatchDelay = nodeWatchDelay
    }
}

/// Why a scan ran.
public enum WakeReason: String, Sendable, Equatable {
    case start
    /// A holder's pidfd became readable.
    case processExit = "process-exit"
    /// inotify saw a close, create or delete in `/dev/vfio`.
    case nodeEvent = "node-event"
    /// The periodic rescan.
    case timer
    /// The second look before declaring 'free'.
    case confirm
    case deadline
}

/// Something the waiter's poll returned.
public enum WakeEvent: Sendable, Equatable {
    case processExited(Int32)
    case nodeEvent
}

/// The waiter's decisions, free of clocks and syscalls: given what scans found and what woke the
/// waiter, when to scan next and when to stop. Times are durations since the wait started.
public struct WaitPlanner: Sendable {
    public enum Action: Sendable, Equatable {
        case scan(WakeReason)
        /// Sleep in poll() until this time unless an event comes first.
        case poll(until: Duration)
        case finish(free: Bool)
    }

    public let policy: WaitPolicy
    public let timeout: Duration
    /// Some scan found the targets held.
    public private(set) var everHeld = false
    /// The pids that held at the last scan that found the targets held.
    public private(set) var holders: Set<Int32> = []
    /// Holders whose pidfd reported their exit since that scan.
    public private(set) var exited: Set<Int32> = []
    public private(set) var confirming = false
    public private(set) var pollUntil: Duration = .zero
    private var lastScan: Duration = .zero
    private var pendingExit = false
    private var pendingNodeEvent = false

    public init(policy: WaitPolicy, timeout: Duration) {
        self.policy = policy
        self.timeout = max(timeout, .zero)
    }

    public func start() -> Action { .scan(.start) }

    /// After a scan that took `cost`.
    public mutating func scanned(free: Bool, holders current: Set<Int32>, reason: WakeReason, at now: Duration, cost: Duration = .zero) -> Action {
        lastScan = now
        pendingExit = false
        pendingNodeEvent = false
        if free {
            // A readable pidfd means the process got through exit_files() and the deferred
            // fput()s, VFIO's release included, so its exit needs no settling. Anything else
            // (a close event, a timer) may have raced the release: look once more.
            let releasedByExit = reason == .processExit && !holders.isEmpty && holders.isSubset(of: exited)
            if !everHeld || reason == .confirm || releasedByExit {
                return .finish(free: true)
            }
            confirming = true
            pollUntil = now + policy.settleDelay
            return .poll(until: pollUntil)
        }
        everHeld = true
        confirming = false
        holders = current
        exited = []
        if now >= timeout { return .finish(free: false) }
        pollUntil = min(now + max(policy.rescanInterval, cost * policy.rescanCostFactor), timeout)
        return .poll(until: pollUntil)
    }

    /// After poll() returned, with whatever events it brought (none on a timeout).
    public mutating func woke(_ events: [WakeEvent], at now: Duration) -> Action {
        for event in events {
            switch event {
            case .processExited(let pid):
                exited.insert(pid)
                pendingExit = true
            case .nodeEvent:
                pendingNodeEvent = true
            }
        }
        if confirming {
            // The last holder's exit during the settle delay settles it at once.
            if pendingExit && !holders.isEmpty && holders.isSubset(of: exited) { return .scan(.processExit) }
            return now >= pollUntil ? .scan(.confirm) : .poll(until: pollUntil)
        }
        if pendingExit { return .scan(.processExit) }
        if pendingNodeEvent {
            let earliest = lastScan + policy.minimumEventGap
            if now >= earliest { return .scan(.nodeEvent) }
            pollUntil = min(pollUntil, earliest)
            return .poll(until: pollUntil)
        }
        if now >= pollUntil { return .scan(now >= timeout ? .deadline : .timer) }
        return .poll(until: pollUntil)
    }
}
