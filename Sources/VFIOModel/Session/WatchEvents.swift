/// What wakes the watcher between passes.
public enum WatchEvent: Sendable, Equatable {
    /// A desired-state file or its drop-in directory changed.
    case configChanged
    /// An entry of `/dev/vfio` was closed, created or removed: a holder may have let go.
    case nodesChanged
    /// SIGTERM or SIGINT.
    case stop
}

/// Where the watcher's events and time come from: inotify, a signalfd and the monotonic clock
/// on a host (`ConfigWatchSource`), a script in tests.
public protocol WatchEventSource {
    /// Time since the source was made.
    func now() -> Duration
    /// Sleeps until `deadline` (on the `now()` scale) or until something happens; empty when
    /// the deadline came first.
    mutating func wait(until deadline: Duration) -> [WatchEvent]
}

/// How often and how soon the watcher re-applies.
public struct WatchPolicy: Sendable, Equatable {
    /// The periodic reconcile: a pass at least this often even when nothing was seen to change
    /// (inotify misses edits through other mounts, and the host can drift by hand).
    public var interval: Duration
    /// Quiet time after the last event of a burst before the pass (an editor's save is a
    /// create, a few writes and a rename).
    public var debounce: Duration
    /// A burst that never goes quiet still gets its pass this long after its first event.
    public var maxDelay: Duration

    public init(interval: Duration = .seconds(60), debounce: Duration = .milliseconds(200), maxDelay: Duration = .seconds(2)) {
        self.interval = interval
        self.debounce = debounce
        self.maxDelay = maxDelay
    }
}

/// One pass of the watcher: what it read and what `apply` did.
public struct WatchPass: Sendable {
    public enum Reason: String, Sendable {
        /// The first pass.
        case start
        /// A desired-state file changed.
        case config
        /// A VFIO node closed while a device was waiting for its holders.
        case holders
        /// The periodic reconcile.
        case reconcile
    }

    /// 1, 2, …
    public var number: Int
    public var reason: Reason
    /// The desired-state files could not be read: the pass applied the last state that could
    /// (`usedLastGood`), or nothing when there never was one.
    public var configError: VFIOError?
    public var usedLastGood: Bool
    /// What `apply` did; nil when it did not run or stopped as a whole (`error`).
    public var outcome: ApplyOutcome?
    /// Why `apply` stopped as a whole (the lock, an unreadable /sys); the next pass tries again.
    public var error: VFIOError?
    /// When the pass ended (UTC, `Timestamp`).
    public var time: String

    /// Devices left on their driver because something holds them.
    public var waiting: [ApplyOutcome.Entry] { outcome?.entries.filter { $0.status == .timeout } ?? [] }

    public init(number: Int, reason: Reason, configError: VFIOError? = nil, usedLastGood: Bool, outcome: ApplyOutcome? = nil, error: VFIOError? = nil, time: String) {
        self.number = number
        self.reason = reason
        self.configError = configError
        self.usedLastGood = usedLastGood
        self.outcome = outcome
        self.error = error
        self.time = time
    }
}

/// When the next pass is due: pure, so tests drive it with a fake clock.
package struct WatchSchedule {
    package let policy: WatchPolicy
    package private(set) var nextReconcile: Duration
    private var burst: (first: Duration, last: Duration, reason: WatchPass.Reason)?
    /// The last pass left devices waiting for holders: node events count.
    package private(set) var waiting = false

    package init(policy: WatchPolicy, lastPass: Duration) {
        self.policy = policy
        nextReconcile = lastPass + policy.interval
    }

    /// When to wake up next.
    package var deadline: Duration {
        guard let burst else { return nextReconcile }
        return min(nextReconcile, burst.last + policy.debounce, burst.first + policy.maxDelay)
    }

    package mutating func took(_ events: [WatchEvent], at now: Duration) {
        for event in events {
            let reason: WatchPass.Reason
            switch event {
            case .configChanged: reason = .config
            case .nodesChanged:
                // Without a waiting device a VM starting or stopping is none of our business.
                guard waiting else { continue }
                reason = .holders
            case .stop: continue
            }
            if let current = burst {
                burst = (current.first, now, current.reason == .config ? .config : reason)
            } else {
                burst = (now, now, reason)
            }
        }
    }

    /// The reason for a pass now, if one is due.
    package func due(at now: Duration) -> WatchPass.Reason? {
        if let burst, now >= min(burst.last + policy.debounce, burst.first + policy.maxDelay) { return burst.reason }
        return now >= nextReconcile ? .reconcile : nil
    }

    package mutating func ran(at now: Duration, waiting: Bool) {
        burst = nil
        nextReconcile = now + policy.interval
        self.waiting = waiting
    }
}
