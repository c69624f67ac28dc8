import CLinuxShim
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Waits until devices are free: no process holds their group node or the devices themselves,
/// and no VFIO-bound one is open.
///
/// Event-driven: a pidfd per holder (its exit wakes the wait at once), inotify on `/dev/vfio`
/// as a hint for closes once the wait has gone on for a second (`WaitPolicy.nodeWatchDelay`),
/// and a periodic rescan as the truth. 'Free' is only ever concluded from a
/// scan, re-checked after a short settle unless every holder was seen to exit.
///
///     let outcome = try HolderWaiter(root: root).waitUntilFree(devices: [address], timeout: .seconds(30)) { progress in … }
///     guard outcome.isFree else { throw .timedOut(…outcome.report.holders…) }
public struct HolderWaiter: Sendable {
    public let root: HostRoot
    public var policy: WaitPolicy
    public var finderOptions: HolderFinder.Options
    /// What the nodes that fds point at stand for (`st_rdev` on a host).
    public var deviceNumbers: DeviceNumbers

    public init(
        root: HostRoot, policy: WaitPolicy = WaitPolicy(), finderOptions: HolderFinder.Options = .init(), deviceNumbers: DeviceNumbers = .real
    ) {
        self.root = root
        self.policy = policy
        self.finderOptions = finderOptions
        self.deviceNumbers = deviceNumbers
    }

    /// Blocks until `devices` are free or `timeout` passes (`.zero`: look once).
    /// - Parameter progress: called after every scan and about once a second while waiting.
    /// - Throws: `.unavailable` when /proc cannot be read.
    public func waitUntilFree(devices: [PCIAddress], timeout: Duration, progress: ((WaitProgress) -> Void)? = nil) throws(VFIOError) -> WaitOutcome {
        var io = LinuxWaitIO(
            finder: HolderFinder(root: root, options: finderOptions, deviceNumbers: deviceNumbers), devices: devices, nodeWatchDelay: policy.nodeWatchDelay)
        return try Self.run(io: &io, policy: policy, timeout: timeout, progress: progress)
    }

    /// The wait loop over any I/O: the planner decides, `io` scans, watches and sleeps.
    static func run<IO: WaitIO>(io: inout IO, policy: WaitPolicy, timeout: Duration, progress: ((WaitProgress) -> Void)?) throws(VFIOError) -> WaitOutcome {
        var planner = WaitPlanner(policy: policy, timeout: timeout)
        var action = planner.start()
        var report: HolderReport?
        var scans = 0
        var decidedBy = WakeReason.start
        var freedBy: WakeReason?
        var nextProgress = Duration.zero
        while true {
            switch action {
            case .scan(let reason):
                let started = io.now()
                let current = try io.scan()
                scans += 1
                decidedBy = reason
                // Kept while the targets stay free: a confirm only looks again.
                if !current.isFree {
                    freedBy = nil
                } else if freedBy == nil {
                    freedBy = reason
                }
                report = current
                let now = io.now()
                action = planner.scanned(free: current.isFree, holders: current.watchPids, reason: reason, at: now, cost: now - started)
                // pidfds only when the wait goes on, and not while it settles a free verdict (the
                // previous holders' pidfds stay open: their exits end the settle early). Opened
                // first, then the pids are checked to still hold: if one had been reused in
                // between, the check fails and its pidfd is dropped (docs/kernel-notes.md, "Waiting for holders").
                if case .poll = action, !current.isFree {
                    let fresh = io.watch(current.watchPids)
                    let confirmed = io.stillHolding(fresh)
                    let unconfirmed = fresh.filter { !confirmed.contains($0) }
                    for pid in unconfirmed { io.unwatch(pid) }
                    if !unconfirmed.isEmpty {
                        // It let go between the scan and the pidfd: look again soon.
                        action = planner.woke([.nodeEvent], at: now)
                    }
                }
                if let progress {
                    progress(WaitProgress(elapsed: now, timeout: timeout, report: current))
                    nextProgress = now + policy.progressInterval
                }
            case .poll(let until):
                let wakeAt = progress == nil ? until : min(until, nextProgress)
                let events = io.poll(until: wakeAt)
                let now = io.now()
                if let progress, let report, events.isEmpty, now >= nextProgress, now < until {
                    progress(WaitProgress(elapsed: now, timeout: timeout, report: report))
                    nextProgress = now + policy.progressInterval
                }
                action = planner.woke(events, at: now)
            case .finish(let free):
                // `report` is set: every path to finish goes through a scan.
                return WaitOutcome(
                    result: free ? .free : .timedOut, report: report ?? HolderReport(targets: [], holders: [], likelyHolders: [], stats: ScanStats()),
                    waited: io.now(), scans: scans, decidedBy: decidedBy, freedBy: free ? freedBy : nil)
            }
        }
    }
}

/// The waiter's side effects, so the loop can run against a script in tests.
protocol WaitIO {
    /// Time since the wait started.
    func now() -> Duration
    mutating func scan() throws(VFIOError) -> HolderReport
    /// Watch exactly these pids; returns the ones newly watched.
    mutating func watch(_ pids: Set<Int32>) -> [Int32]
    /// Those of `pids` that still hold the targets.
    func stillHolding(_ pids: [Int32]) -> Set<Int32>
    mutating func unwatch(_ pid: Int32)
    /// Sleeps until `until` or an event.
    mutating func poll(until: Duration) -> [WakeEvent]
}

/// inotify + pidfd + poll(2).
struct LinuxWaitIO: WaitIO {
    private let finder: HolderFinder
    private let devices: [PCIAddress]
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private let descriptors: Descriptors

    /// Owns the fds, so they close when the wait ends however it ends.
    private final class Descriptors {
        var inotify: Inotify?
        var nodeWatchTried = false
        var pidfds: [Int32: Int32] = [:]
        /// pidfd_open returned ENOSYS (before 5.3): rely on inotify and rescans.
        var pidfdUnsupported = false
        /// Pids never to watch again: already reported as exited, or pidfd_open failed.
        var settled: Set<Int32> = []
        var pendingExits: [Int32] = []

        deinit {
            for fd in pidfds.values { close(fd) }
        }
    }

    /// When to set up the inotify watch (`WaitPolicy.nodeWatchDelay`).
    private let nodeWatchAt: Duration

    init(finder: HolderFinder, devices: [PCIAddress], nodeWatchDelay: Duration) {
        self.finder = finder
        self.devices = devices
        started = clock.now
        descriptors = Descriptors()
        nodeWatchAt = nodeWatchDelay
    }

    /// Sets up the inotify watch on `/dev/vfio` once its time has come (tried once).
    private func watchNodesIfDue() {
        let d = descriptors
        guard !d.nodeWatchTried, now() >= nodeWatchAt else { return }
        d.nodeWatchTried = true
        guard let watcher = Inotify() else { return }
        // The directory, not the nodes: a group node is deleted when its group is torn down
        // and recreated (new inode) on rebind. Closes through mknod'ed copies elsewhere are
        // invisible here, which is why the rescan stays the truth.
        let mask = UInt32(IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVED_TO | IN_MOVED_FROM)
        let root = finder.root
        var watched = 0
        for dir in [root.devVFIO, root.devVFIO + "/devices"] where watcher.add(dir, mask: mask) != nil {
            watched += 1
        }
        if watched > 0 { d.inotify = watcher }
    }

    func now() -> Duration { clock.now - started }

    /// The inotify watch on `/dev/vfio` is set up.
    var watchingNodes: Bool { descriptors.inotify != nil }

    func scan() throws(VFIOError) -> HolderReport {
        try finder.find(devices)
    }

    mutating func watch(_ pids: Set<Int32>) -> [Int32] {
        let d = descriptors
        for (pid, fd) in d.pidfds where !pids.contains(pid) {
            close(fd)
            d.pidfds[pid] = nil
        }
        guard !d.pidfdUnsupported else { return [] }
        var fresh: [Int32] = []
        for pid in pids.sorted() where d.pidfds[pid] == nil && !d.settled.contains(pid) {
            let fd = vfioctl_pidfd_open(pid, 0)
            if fd >= 0 {
                d.pidfds[pid] = fd
                fresh.append(pid)
                continue
            }
            switch errno {
            case ENOSYS:
                d.pidfdUnsupported = true
                return fresh
            case ESRCH:
                // Gone already: say so once, so the planner rescans now.
                d.pendingExits.append(pid)
            default:
                break  // EPERM, EMFILE…: the rescan still covers it.
            }
            d.settled.insert(pid)
        }
        return fresh
    }

    func stillHolding(_ pids: [Int32]) -> Set<Int32> {
        finder.stillHolding(pids, devices: devices)
    }

    mutating func unwatch(_ pid: Int32) {
        if let fd = descriptors.pidfds.removeValue(forKey: pid) { close(fd) }
        descriptors.settled.insert(pid)
    }

    mutating func poll(until: Duration) -> [WakeEvent] {
        let d = descriptors
        if !d.pendingExits.isEmpty {
            defer { d.pendingExits.removeAll() }
            return d.pendingExits.map { .processExited($0) }
        }
        watchNodesIfDue()
        defer { watchNodesIfDue() }  // woken for it: set it up before the next sleep
        var fds: [pollfd] = []
        var owners: [Int32] = []
        if let inotify = d.inotify {
            fds.append(pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0))
            owners.append(-1)
        }
        for (pid, fd) in d.pidfds {
            fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
            owners.append(pid)
        }
        // Wake for the watch's setup too; the planner then goes back to sleep until `until`.
        let wakeAt = d.nodeWatchTried ? until : min(until, nodeWatchAt)
        let remaining = wakeAt - now()
        let ms = remaining <= .zero ? 0 : Self.milliseconds(remaining)
        let ready = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), ms) }
        guard ready > 0 else { return [] }
        var events: [WakeEvent] = []
        for (i, entry) in fds.enumerated() where entry.revents != 0 {
            if owners[i] < 0 {
                let drained = d.inotify?.drain() ?? []
                if drained.contains(where: { Self.isRelevant(mask: $0.mask, hasName: !$0.name.isEmpty) }) { events.append(.nodeEvent) }
            } else {
                let pid = owners[i]
                events.append(.processExited(pid))
                if let fd = d.pidfds.removeValue(forKey: pid) { close(fd) }
                d.settled.insert(pid)
            }
        }
        return events
    }

    // Which node an event is about does not matter, it only means "look again" (an overflow
    // means the same). Events about the watched directories themselves are dropped: listing
    // `/dev/vfio`, as every scan does, opens and closes it.

    /// Closes, creations and deletions of entries count; so do the directory going away and a
    /// queue overflow. Opening or closing a directory (ours, when a scan lists it) does not.
    static func isRelevant(mask: UInt32, hasName: Bool) -> Bool {
        if mask & UInt32(IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF) != 0 { return true }
        guard hasName else { return false }
        let close = UInt32(IN_CLOSE_WRITE | IN_CLOSE_NOWRITE)
        if mask & UInt32(IN_ISDIR) != 0 && mask & close != 0 { return false }
        return true
    }

    /// Rounded up, so poll never wakes just before the deadline and spins.
    static func milliseconds(_ d: Duration) -> Int32 {
        let (seconds, attoseconds) = d.components
        let ms = seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        return Int32(clamping: ms)
    }
}
