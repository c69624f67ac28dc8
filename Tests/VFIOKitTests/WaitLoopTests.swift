import Testing

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

private let device = PCIAddress("0000:01:00.0")!

/// A scan result: held by `pids` (through the group node) or free.
private func report(heldBy pids: [Int32]) -> HolderReport {
    let target = HolderTarget(address: device, driver: "vfio-pci", vfioBound: true, group: 7, enableCount: 0)
    let holders = pids.map { HolderProcess(pid: $0, handles: [HeldHandle(kind: .group, fd: 3, path: "/dev/vfio/7", group: 7)], command: "qemu") }
    return HolderReport(
        targets: [TargetStatus(target: target, state: pids.isEmpty ? .free : .held, holders: pids, open: false)], holders: holders,
        likelyHolders: [], stats: ScanStats())
}

/// A fake clock and a script of scan results and events, for the wait loop.
private struct ScriptedIO: WaitIO {
    var clock: Duration = .zero
    /// Scan results in order; the last one repeats.
    var scans: [HolderReport]
    /// Events and when they happen.
    var events: [(at: Duration, events: [WakeEvent])]
    /// Pids whose pidfd, once opened, turns out to belong to someone else.
    var reused: Set<Int32> = []
    var watched: Set<Int32> = []
    var unwatched: [Int32] = []
    var scanTimes: [Duration] = []

    func now() -> Duration { clock }

    mutating func scan() throws(VFIOError) -> HolderReport {
        scanTimes.append(clock)
        clock += .milliseconds(1)
        return scans.count > 1 ? scans.removeFirst() : scans[0]
    }

    mutating func watch(_ pids: Set<Int32>) -> [Int32] {
        let fresh = pids.subtracting(watched).sorted()
        watched = pids
        return fresh
    }

    func stillHolding(_ pids: [Int32]) -> Set<Int32> { Set(pids).subtracting(reused) }

    mutating func unwatch(_ pid: Int32) {
        watched.remove(pid)
        unwatched.append(pid)
    }

    mutating func poll(until: Duration) -> [WakeEvent] {
        if let next = events.first, next.at <= until {
            events.removeFirst()
            clock = max(clock, next.at)
            return next.events
        }
        clock = max(clock, until)
        return []
    }
}

@Suite("The wait loop over scripted scans and events")
struct WaitLoopTests {
    let policy = WaitPolicy(rescanInterval: .milliseconds(250), settleDelay: .milliseconds(20), minimumEventGap: .milliseconds(50), progressInterval: .seconds(1))

    @Test("the holder's exit ends the wait at once, with one scan after it")
    func exitWakes() throws {
        var io = ScriptedIO(scans: [report(heldBy: [42]), report(heldBy: [])], events: [(.milliseconds(130), [.processExited(42)])])
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .processExit)
        #expect(outcome.freedBy == .processExit)
        #expect(outcome.scans == 2)
        #expect(io.scanTimes == [.zero, .milliseconds(130)])
        #expect(outcome.waited < .milliseconds(200))
    }

    @Test("a holder that never lets go: periodic rescans, then a timeout naming it")
    func timesOut() throws {
        var io = ScriptedIO(scans: [report(heldBy: [42])], events: [])
        var seen: [Duration] = []
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(1), progress: { seen.append($0.elapsed) })
        #expect(outcome.result == .timedOut)
        #expect(outcome.report.holders.map(\.pid) == [42])
        #expect(outcome.decidedBy == .deadline)
        #expect(outcome.freedBy == nil)
        // Start, four rescans (250 ms apart, the last one at the deadline).
        #expect(outcome.scans == 5)
        #expect(io.scanTimes.last == .seconds(1))
        #expect(seen.count == 5)
    }

    @Test("progress ticks about once a second while nothing changes, between rescans")
    func progressTicks() throws {
        let slow = WaitPolicy(rescanInterval: .seconds(10), settleDelay: .milliseconds(20), minimumEventGap: .milliseconds(50), progressInterval: .seconds(1))
        var io = ScriptedIO(scans: [report(heldBy: [42])], events: [])
        var seen: [Duration] = []
        let outcome = try HolderWaiter.run(io: &io, policy: slow, timeout: .seconds(3), progress: { seen.append($0.elapsed) })
        #expect(outcome.result == .timedOut)
        #expect(outcome.scans == 2)
        #expect(seen.count == 4)
        #expect(seen.first == .milliseconds(1))
        #expect(seen.dropFirst().first == .milliseconds(1001))
    }

    @Test("a close event that frees the device is confirmed by a second scan after the settle delay")
    func closeEventConfirmed() throws {
        var io = ScriptedIO(scans: [report(heldBy: [42]), report(heldBy: []), report(heldBy: [])], events: [(.milliseconds(100), [.nodeEvent])])
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .confirm)
        #expect(outcome.freedBy == .nodeEvent)
        #expect(io.scanTimes == [.zero, .milliseconds(100), .milliseconds(121)])
    }

    @Test("a release no event told of is found by the periodic rescan, and confirmed")
    func timerFindsFree() throws {
        var io = ScriptedIO(scans: [report(heldBy: [42]), report(heldBy: []), report(heldBy: [])], events: [])
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .confirm)
        #expect(outcome.freedBy == .timer)
        #expect(io.scanTimes.count == 3)
    }

    @Test("a confirm that finds a holder again forgets what first saw the device free")
    func freeThenHeldAgain() throws {
        var io = ScriptedIO(
            scans: [report(heldBy: [42]), report(heldBy: []), report(heldBy: [43]), report(heldBy: []), report(heldBy: [])],
            events: [(.milliseconds(100), [.nodeEvent])])
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(outcome.result == .free)
        #expect(outcome.freedBy == .timer)
        #expect(io.scanTimes.count == 5)
    }

    @Test("a pid that no longer holds once its pidfd is open loses the pidfd, and the wait rescans soon")
    func reusedPidDropped() throws {
        var io = ScriptedIO(scans: [report(heldBy: [42]), report(heldBy: [])], events: [])
        io.reused = [42]
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(io.unwatched == [42])
        #expect(outcome.result == .free)
        // Rescanned one event gap (50 ms) after the first scan ended (at 1 ms), not 250 ms later.
        #expect(io.scanTimes[1] == .milliseconds(51))
    }

    @Test("free at once: one scan, nothing watched")
    func freeAtOnce() throws {
        var io = ScriptedIO(scans: [report(heldBy: [])], events: [])
        let outcome = try HolderWaiter.run(io: &io, policy: policy, timeout: .seconds(30), progress: nil)
        #expect(outcome.result == .free)
        #expect(outcome.scans == 1)
        #expect(io.watched.isEmpty)
    }
}
