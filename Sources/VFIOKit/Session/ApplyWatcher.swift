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

    /// Devices left on their driver because something holds them.
    public var waiting: [ApplyOutcome.Entry] { outcome?.entries.filter { $0.status == .timeout } ?? [] }
}

/// When the next pass is due: pure, so tests drive it with a fake clock.
struct WatchSchedule {
    let policy: WatchPolicy
    private(set) var nextReconcile: Duration
    private var burst: (first: Duration, last: Duration, reason: WatchPass.Reason)?
    /// The last pass left devices waiting for holders: node events count.
    private(set) var waiting = false

    init(policy: WatchPolicy, lastPass: Duration) {
        self.policy = policy
        nextReconcile = lastPass + policy.interval
    }

    /// When to wake up next.
    var deadline: Duration {
        guard let burst else { return nextReconcile }
        return min(nextReconcile, burst.last + policy.debounce, burst.first + policy.maxDelay)
    }

    mutating func took(_ events: [WatchEvent], at now: Duration) {
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
    func due(at now: Duration) -> WatchPass.Reason? {
        if let burst, now >= min(burst.last + policy.debounce, burst.first + policy.maxDelay) { return burst.reason }
        return now >= nextReconcile ? .reconcile : nil
    }

    mutating func ran(at now: Duration, waiting: Bool) {
        burst = nil
        nextReconcile = now + policy.interval
        self.waiting = waiting
    }
}

/// `apply --watch`: keeps a host in its desired state. Each pass reads the desired-state files
/// and runs `HostSession.apply` on them, so it changes only what differs (a device already
/// right is never written to) and takes the host lock only for the pass.
///
/// Held devices are never waited for inside a pass (`apply(noWait: true)`): a release whose
/// device is held ends at once as `timeout`, is reported as waiting, and is tried again when a
/// VFIO node closes or at the next reconcile. So a pass is short, and a stop request (read only
/// between passes, see `ConfigWatchSource`) never interrupts a transaction: a device is on its
/// old driver or its new one, never in between.
///
/// A desired state that does not parse is reported and the last good one stays in force.
///
///     var events = try ConfigWatchSource(root: root)
///     ApplyWatcher(session: session, load: { () throws(VFIOError) in try DesiredState.load(root: root) }).run(&events) { print($0) }
public struct ApplyWatcher {
    public let session: HostSession
    public let load: () throws(VFIOError) -> DesiredState
    public var policy: WatchPolicy

    public init(session: HostSession, policy: WatchPolicy = WatchPolicy(), load: @escaping () throws(VFIOError) -> DesiredState) {
        self.session = session
        self.policy = policy
        self.load = load
    }

    /// Runs passes until the source reports `.stop` (checked only between passes).
    /// - Returns: the number of passes run.
    @discardableResult
    public func run<Source: WatchEventSource>(_ source: inout Source, onPass: (WatchPass) -> Void) -> Int {
        var lastGood: DesiredState?
        var number = 0
        func pass(_ reason: WatchPass.Reason) -> WatchPass {
            number += 1
            let result = runPass(number: number, reason: reason, lastGood: &lastGood)
            onPass(result)
            return result
        }
        let first = pass(.start)
        var schedule = WatchSchedule(policy: policy, lastPass: source.now())
        schedule.ran(at: source.now(), waiting: !first.waiting.isEmpty)
        while true {
            let events = source.wait(until: schedule.deadline)
            if events.contains(.stop) { return number }
            let now = source.now()
            schedule.took(events, at: now)
            guard let reason = schedule.due(at: now) else { continue }
            let result = pass(reason)
            schedule.ran(at: source.now(), waiting: !result.waiting.isEmpty)
        }
    }

    func runPass(number: Int, reason: WatchPass.Reason, lastGood: inout DesiredState?) -> WatchPass {
        var result = WatchPass(number: number, reason: reason, usedLastGood: false)
        do throws(VFIOError) {
            lastGood = try load()
        } catch {
            result.configError = error
            result.usedLastGood = lastGood != nil
        }
        guard let desired = lastGood else { return result }
        do throws(VFIOError) {
            result.outcome = try session.apply(desired, noWait: true)
        } catch {
            result.error = error
        }
        return result
    }
}
