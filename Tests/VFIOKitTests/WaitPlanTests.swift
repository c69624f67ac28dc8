import Testing

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

private let policy = WaitPolicy(
    rescanInterval: .milliseconds(250), settleDelay: .milliseconds(20), minimumEventGap: .milliseconds(50), progressInterval: .seconds(1))

private func ms(_ n: Int) -> Duration { .milliseconds(n) }

@Suite("Wait decisions (pure)")
struct WaitPlanTests {
    @Test("free at the first look: done at once, no settle (nothing was seen to let go)")
    func freeAtStart() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        #expect(plan.start() == .scan(.start))
        #expect(plan.scanned(free: true, holders: [], reason: .start, at: ms(1)) == .finish(free: true))
    }

    @Test("held: sleep until the next periodic rescan, never past the deadline")
    func heldPollsUntilRescan() {
        var plan = WaitPlanner(policy: policy, timeout: ms(400))
        #expect(plan.scanned(free: false, holders: [42], reason: .start, at: ms(2)) == .poll(until: ms(252)))
        #expect(plan.woke([], at: ms(252)) == .scan(.timer))
        #expect(plan.scanned(free: false, holders: [42], reason: .timer, at: ms(260)) == .poll(until: ms(400)))
        #expect(plan.woke([], at: ms(400)) == .scan(.deadline))
        #expect(plan.scanned(free: false, holders: [42], reason: .deadline, at: ms(405)) == .finish(free: false))
    }

    @Test("slow scans stretch the periodic rescan (at most a tenth of the time scanning), never past the deadline")
    func costlyScans() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        #expect(plan.scanned(free: false, holders: [42], reason: .start, at: ms(100), cost: ms(10)) == .poll(until: ms(350)))
        #expect(plan.scanned(free: false, holders: [42], reason: .timer, at: ms(1000), cost: ms(80)) == .poll(until: ms(1800)))
        #expect(plan.scanned(free: false, holders: [42], reason: .timer, at: .seconds(29), cost: .seconds(1)) == .poll(until: .seconds(30)))
    }

    @Test("timeout 0 looks once: held is an immediate timeout, free an immediate success")
    func timeoutZero() {
        var held = WaitPlanner(policy: policy, timeout: .zero)
        #expect(held.scanned(free: false, holders: [42], reason: .start, at: ms(3)) == .finish(free: false))
        var free = WaitPlanner(policy: policy, timeout: .zero)
        #expect(free.scanned(free: true, holders: [], reason: .start, at: ms(3)) == .finish(free: true))
    }

    @Test("the last holder's exit (pidfd) and a free scan: done without settling")
    func exitFinishesAtOnce() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(1))
        #expect(plan.woke([.processExited(42)], at: ms(100)) == .scan(.processExit))
        #expect(plan.scanned(free: true, holders: [], reason: .processExit, at: ms(101)) == .finish(free: true))
    }

    @Test("one of two holders exits: rescan, still held, keep waiting for the other")
    func oneOfTwoExits() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42, 43], reason: .start, at: ms(1))
        #expect(plan.woke([.processExited(42)], at: ms(50)) == .scan(.processExit))
        #expect(plan.scanned(free: false, holders: [43], reason: .processExit, at: ms(51)) == .poll(until: ms(301)))
        #expect(plan.holders == [43])
        #expect(plan.woke([.processExited(43)], at: ms(80)) == .scan(.processExit))
        #expect(plan.scanned(free: true, holders: [], reason: .processExit, at: ms(81)) == .finish(free: true))
    }

    @Test("free after a close event: the close precedes the release, so confirm after the settle delay")
    func closeEventConfirms() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(1))
        #expect(plan.woke([.nodeEvent], at: ms(100)) == .scan(.nodeEvent))
        #expect(plan.scanned(free: true, holders: [], reason: .nodeEvent, at: ms(101)) == .poll(until: ms(121)))
        #expect(plan.confirming)
        // Events during the settle do not cut it short...
        #expect(plan.woke([.nodeEvent], at: ms(110)) == .poll(until: ms(121)))
        #expect(plan.woke([], at: ms(121)) == .scan(.confirm))
        #expect(plan.scanned(free: true, holders: [], reason: .confirm, at: ms(122)) == .finish(free: true))
    }

    @Test("...except the exit of every holder, which settles it at once")
    func exitDuringSettle() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(1))
        _ = plan.woke([.nodeEvent], at: ms(100))
        _ = plan.scanned(free: true, holders: [], reason: .nodeEvent, at: ms(101))
        #expect(plan.woke([.processExited(42)], at: ms(102)) == .scan(.processExit))
        #expect(plan.scanned(free: true, holders: [], reason: .processExit, at: ms(103)) == .finish(free: true))
    }

    @Test("the confirming scan finds a new holder: back to waiting")
    func confirmFindsHolder() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(1))
        _ = plan.woke([.nodeEvent], at: ms(100))
        _ = plan.scanned(free: true, holders: [], reason: .nodeEvent, at: ms(101))
        #expect(plan.woke([], at: ms(121)) == .scan(.confirm))
        #expect(plan.scanned(free: false, holders: [77], reason: .confirm, at: ms(122)) == .poll(until: ms(372)))
        #expect(!plan.confirming)
        #expect(plan.holders == [77])
    }

    @Test("a free periodic rescan (holder invisible to pidfd/inotify) is confirmed too")
    func timerFreeConfirms() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [], reason: .start, at: ms(0))
        #expect(plan.woke([], at: ms(250)) == .scan(.timer))
        #expect(plan.scanned(free: true, holders: [], reason: .timer, at: ms(251)) == .poll(until: ms(271)))
    }

    @Test("an exit event for a pid that still holds (pid reused) does not count as its release")
    func reusedPid() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(0))
        _ = plan.woke([.processExited(42)], at: ms(10))
        // The rescan still sees pid 42 holding: a new process under the old number.
        _ = plan.scanned(free: false, holders: [42], reason: .processExit, at: ms(11))
        #expect(plan.exited.isEmpty)
        #expect(plan.woke([], at: ms(261)) == .scan(.timer))
        #expect(plan.scanned(free: true, holders: [], reason: .timer, at: ms(262)) == .poll(until: ms(282)))
    }

    @Test("a storm of node events is rate-limited to one rescan per minimum gap")
    func eventStorm() {
        var plan = WaitPlanner(policy: policy, timeout: .seconds(30))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(0))
        #expect(plan.woke([.nodeEvent], at: ms(60)) == .scan(.nodeEvent))
        _ = plan.scanned(free: false, holders: [42], reason: .nodeEvent, at: ms(61))
        #expect(plan.woke([.nodeEvent, .nodeEvent], at: ms(70)) == .poll(until: ms(111)))
        #expect(plan.woke([.nodeEvent], at: ms(90)) == .poll(until: ms(111)))
        #expect(plan.woke([], at: ms(111)) == .scan(.nodeEvent))
    }

    @Test("held at the deadline after an event: timed out, never 'free' without a free scan")
    func deadlineAfterEvent() {
        var plan = WaitPlanner(policy: policy, timeout: ms(100))
        _ = plan.scanned(free: false, holders: [42], reason: .start, at: ms(0))
        #expect(plan.woke([.nodeEvent], at: ms(99)) == .scan(.nodeEvent))
        #expect(plan.scanned(free: false, holders: [42], reason: .nodeEvent, at: ms(100)) == .finish(free: false))
    }
}

@Suite("Which inotify events wake the waiter")
struct InotifyFilterTests {
    @Test("closes, creations and deletions of entries wake; opening and closing a directory (a scan listing /dev/vfio) does not")
    func relevance() {
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_CLOSE_WRITE), hasName: true))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_CLOSE_NOWRITE), hasName: true))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_DELETE), hasName: true))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_CREATE), hasName: true))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_CREATE | IN_ISDIR), hasName: true))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_Q_OVERFLOW), hasName: false))
        #expect(LinuxWaitIO.isRelevant(mask: UInt32(IN_DELETE_SELF), hasName: false))
        // The watched directory itself, opened and closed by our own listing.
        #expect(!LinuxWaitIO.isRelevant(mask: UInt32(IN_CLOSE_NOWRITE | IN_ISDIR), hasName: false))
        // A subdirectory (`devices`) listed by someone.
        #expect(!LinuxWaitIO.isRelevant(mask: UInt32(IN_CLOSE_NOWRITE | IN_ISDIR), hasName: true))
    }
}
