import VFIOHost
import VFIOModel
import VFIOWriters

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
            var result = runPass(number: number, reason: reason, lastGood: &lastGood)
            result.time = Timestamp.now()
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
        var result = WatchPass(number: number, reason: reason, usedLastGood: false, time: "")
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

extension HostSession {
    /// `apply --watch`: the agent on this host, over inotify on the desired-state files (or
    /// `file`) and `/dev/vfio` and a signalfd for SIGTERM and SIGINT, until it is told to stop.
    /// - Returns: how many passes ran.
    /// - Throws: before the first pass only: `file` unreadable (`.usage`, so a typo on the
    ///   command line is exit 64 at once rather than an error line per pass), not root, or the
    ///   watches cannot be set up.
    @discardableResult
    public func watch(file: String?, policy: WatchPolicy, onPass: (WatchPass) -> Void) throws(VFIOError) -> Int {
        if let file, Sysfs.readBytes(file, limit: 1 << 22) == nil { throw .usage("cannot read \(file)") }
        try Privilege.requireRoot(for: "apply --watch", root: root, effectiveUID: effectiveUID)
        var source = try ConfigWatchSource(root: root, file: file)
        let root = self.root
        let watcher = ApplyWatcher(session: self, policy: policy) { () throws(VFIOError) in try DesiredState.load(root: root, file: file) }
        return watcher.run(&source, onPass: onPass)
    }
}
