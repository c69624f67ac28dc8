import Dispatch
import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

private let vf = PCIAddress("0000:07:02.1")!

/// A fixture with group 24's node (a stand-in file that real processes can open; the scan
/// matches it by number, given the fixture's `deviceNumbers`). Only the test's own child is
/// linked into the fixture's /proc, so no other process on the machine can be taken for a holder.
private func liveHost() throws -> FixtureHost {
    let host = FixtureLayout.desktop.build()
    try host.addVFIOGroupNode(24)
    // The real boot time, so start times of real processes come out right.
    if let btime = Sysfs.read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }), let seconds = Int64(btime.dropFirst(6)) {
        host.setBootTime(seconds)
    }
    return host
}

/// Waits long enough for any test machine; periodic rescans effectively off, so that only an
/// event (pidfd or inotify) can end a wait within `generous`.
private let generous = Duration.seconds(30)
private let eventsOnly = WaitPolicy(rescanInterval: .seconds(120), nodeWatchDelay: .zero)

@Suite("Waiting on real processes")
struct LiveWaitTests {
    @Test("the holder's exit wakes the wait through its pidfd, even through a node inotify cannot see")
    func exitWakesWait() throws {
        let host = try liveHost()
        // The holder opens its own copy of the node, as a container would: a close there makes
        // no event on the host's /dev/vfio, so only the pidfd can end this wait early.
        try host.makeCharNode("/var/lib/ctr/dev-vfio-24", major: 510, minor: 24)
        let holder = try NodeHolder(holding: host.path + "/var/lib/ctr/dev-vfio-24")
        host.linkRealProcess(holder.pid)
        let pid = holder.pid
        var first: HolderReport?
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { _ = kill(pid, SIGKILL) }
        let outcome = try HolderWaiter(root: host.root, policy: eventsOnly, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: generous) { progress in
            if first == nil { first = progress.report }
        }
        #expect(first?.holders.map(\.pid) == [pid], "held when the wait began")
        #expect(first?.holders.first?.command == "sleep")
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .processExit)
        #expect(outcome.waited < generous)
    }

    @Test("a close in a process that keeps running wakes the wait through inotify on /dev/vfio, then a confirming scan")
    func closeWakesWait() throws {
        let host = try liveHost()
        let holder = try NodeHolder(holding: host.path + "/dev/vfio/24", closeOnInput: true)
        host.linkRealProcess(holder.pid)
        let before = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(before.holders.map(\.pid) == [holder.pid])
        let control = UnsafeSendable(holder)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { control.value.closeNode() }
        let outcome = try HolderWaiter(root: host.root, policy: eventsOnly, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: generous)
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .confirm)
        #expect(outcome.freedBy == .nodeEvent)
        #expect(outcome.waited < generous)
        // Still alive: the wait ended on the close, not on an exit.
        #expect(kill(holder.pid, 0) == 0)
    }

    @Test("the /dev/vfio watch is set up once the wait has gone on for nodeWatchDelay, and then wakes it on a close")
    func nodeWatchIsDelayed() throws {
        let host = try liveHost()
        let holder = try NodeHolder(holding: host.path + "/dev/vfio/24", closeOnInput: true)
        host.linkRealProcess(holder.pid)
        var io = LinuxWaitIO(finder: HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers), devices: [vf], nodeWatchDelay: .milliseconds(300))
        #expect(io.poll(until: .milliseconds(100)).isEmpty)
        #expect(!io.watchingNodes, "not before 300 ms")
        #expect(io.poll(until: .milliseconds(400)).isEmpty)
        #expect(io.watchingNodes, "set up at 300 ms")
        holder.closeNode()
        #expect(io.poll(until: .seconds(10)) == [.nodeEvent])
        #expect(io.now() < .seconds(10))
    }

    @Test("a close before the watch is set up is found by the periodic rescan")
    func closeBeforeWatch() throws {
        let host = try liveHost()
        let holder = try NodeHolder(holding: host.path + "/dev/vfio/24", closeOnInput: true)
        host.linkRealProcess(holder.pid)
        let control = UnsafeSendable(holder)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { control.value.closeNode() }
        let policy = WaitPolicy(rescanInterval: .milliseconds(100), nodeWatchDelay: .seconds(60))
        let outcome = try HolderWaiter(root: host.root, policy: policy, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: generous)
        #expect(outcome.result == .free)
        #expect(outcome.decidedBy == .confirm)
        #expect(outcome.freedBy == .timer)
        #expect(outcome.waited < .seconds(5))
        #expect(kill(holder.pid, 0) == 0)
    }

    @Test("a holder that stays: the wait times out and names it, its fd and the node")
    func staysTimesOut() throws {
        let host = try liveHost()
        let holder = try NodeHolder(holding: host.path + "/dev/vfio/24")
        host.linkRealProcess(holder.pid)
        let outcome = try HolderWaiter(root: host.root, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: .milliseconds(600))
        #expect(outcome.result == .timedOut)
        // It gave up no earlier than asked.
        #expect(outcome.waited >= .milliseconds(600))
        let found = try #require(outcome.report.holders.first)
        #expect(found.pid == holder.pid)
        #expect(found.command == "sleep")
        #expect(found.commandLine == ["sleep", "60"])
        #expect(found.handles == [HeldHandle(kind: .group, fd: 3, path: "/dev/vfio/24", group: 24)])
        // Started moments ago (a loose bound: the clock tick and boot-time rounding are seconds).
        let started = try #require(found.startedAt)
        #expect(abs(Int64(time(nil)) - started) < 120)
    }

    @Test("timeout 0 checks once")
    func checkOnce() throws {
        let host = try liveHost()
        let holder = try NodeHolder(holding: host.path + "/dev/vfio/24")
        host.linkRealProcess(holder.pid)
        let held = try HolderWaiter(root: host.root, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: .zero)
        #expect(held.result == .timedOut)
        #expect(held.scans == 1)
        holder.kill()
        holder.reap()
        let free = try HolderWaiter(root: host.root, deviceNumbers: host.deviceNumbers).waitUntilFree(devices: [vf], timeout: .zero)
        #expect(free.result == .free)
        #expect(free.scans == 1)
    }
}

/// Hands a non-Sendable test object to another thread; the tests use it for one call.
private struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
