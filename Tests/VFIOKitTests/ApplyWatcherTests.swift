import Synchronization
import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

/// A scripted event source: a fake clock that jumps to each deadline or scripted moment, with
/// an action (an edit of the file) and the events it would cause.
final class ScriptedEvents: WatchEventSource, @unchecked Sendable {
    struct Step {
        var at: Duration
        var events: [WatchEvent]
        var action: (() -> Void)? = nil
    }

    private(set) var clock: Duration = .zero
    private var script: [Step]
    /// The source answers `.stop` once this moment is reached.
    let end: Duration
    /// Set from anywhere (a kernel write hook) to stop at the next wait, as SIGTERM would.
    let stopRequested = Mutex(false)
    /// The deadlines the watcher asked for, in order.
    private(set) var deadlines: [Duration] = []

    init(_ script: [Step], end: Duration) {
        self.script = script
        self.end = end
    }

    func now() -> Duration { clock }

    func wait(until deadline: Duration) -> [WatchEvent] {
        deadlines.append(deadline)
        if stopRequested.withLock({ $0 }) { return [.stop] }
        if let next = script.first, next.at <= deadline, next.at <= end {
            script.removeFirst()
            clock = max(clock, next.at)
            next.action?()
            return next.events
        }
        if deadline >= end {
            clock = max(clock, end)
            return [.stop]
        }
        clock = max(clock, deadline)
        return []
    }
}

@Suite("apply --watch: the schedule")
struct WatchScheduleTests {
    let policy = WatchPolicy(interval: .seconds(60), debounce: .milliseconds(200), maxDelay: .seconds(2))

    @Test("a burst of edits is one pass, 200 ms after the last of them")
    func debounce() {
        var schedule = WatchSchedule(policy: policy, lastPass: .zero)
        for ms in [1000, 1050, 1100, 1150] {
            schedule.took([.configChanged], at: .milliseconds(ms))
            #expect(schedule.due(at: .milliseconds(ms)) == nil)
        }
        #expect(schedule.deadline == .milliseconds(1350))
        #expect(schedule.due(at: .milliseconds(1349)) == nil)
        #expect(schedule.due(at: .milliseconds(1350)) == .config)
    }

    @Test("a burst that never goes quiet still gets its pass after maxDelay")
    func maxDelay() {
        var schedule = WatchSchedule(policy: policy, lastPass: .zero)
        var t = Duration.seconds(1)
        while t < .seconds(4) {
            schedule.took([.configChanged], at: t)
            if schedule.due(at: t) != nil { break }
            t += .milliseconds(100)
        }
        #expect(t == .seconds(3))
    }

    @Test("node events count only while a device waits for its holders")
    func nodes() {
        var schedule = WatchSchedule(policy: policy, lastPass: .zero)
        schedule.took([.nodesChanged], at: .seconds(1))
        #expect(schedule.deadline == .seconds(60))
        schedule.ran(at: .seconds(2), waiting: true)
        schedule.took([.nodesChanged], at: .seconds(3))
        #expect(schedule.due(at: .milliseconds(3200)) == .holders)
        // An edit in the same burst makes it a config pass.
        schedule.took([.configChanged], at: .milliseconds(3100))
        #expect(schedule.due(at: .milliseconds(3300)) == .config)
    }

    @Test("the periodic reconcile", arguments: [1, 60, 3600])
    func reconcile(seconds: Int) {
        var schedule = WatchSchedule(policy: WatchPolicy(interval: .seconds(seconds)), lastPass: .zero)
        #expect(schedule.due(at: .seconds(seconds) - .milliseconds(1)) == nil)
        #expect(schedule.due(at: .seconds(seconds)) == .reconcile)
        schedule.ran(at: .seconds(seconds), waiting: false)
        #expect(schedule.deadline == .seconds(2 * seconds))
    }
}

@Suite("apply --watch: the watcher on a simulated kernel")
struct ApplyWatcherTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() {
        kernel = SimulatedKernel(host: host)
        host.setBootTime(1_700_000_000)
        host.addProcess(100, comm: "bash")
    }

    func watcher(interval: Duration = .seconds(60)) -> ApplyWatcher {
        let session = HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers)
        let root = host.root
        return ApplyWatcher(session: session, policy: WatchPolicy(interval: interval)) { () throws(VFIOError) in try DesiredState.load(root: root) }
    }

    func run(_ source: ScriptedEvents, interval: Duration = .seconds(60)) -> [WatchPass] {
        var passes: [WatchPass] = []
        var events = source
        watcher(interval: interval).run(&events) { passes.append($0) }
        return passes
    }

    func edit(_ text: String) -> () -> Void {
        { [host] in host.write("/etc/vfioctl.conf", text) }
    }

    func statuses(_ pass: WatchPass) -> [String: ApplyOutcome.Status] {
        Dictionary(uniqueKeysWithValues: (pass.outcome?.entries ?? []).map { ($0.address.description, $0.status) })
    }

    @Test("an edit triggers one pass, which moves what the edit changed and nothing else")
    func editTriggersPass() {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        let source = ScriptedEvents(
            [.init(at: .seconds(5), events: [.configChanged], action: edit("[device 05:00.0]\ndriver = vfio-pci\n[device 06:00.0]\ndriver = vfio-pci\n"))],
            end: .seconds(30))
        let passes = run(source)
        #expect(passes.map(\.reason) == [.start, .config])
        #expect(statuses(passes[0]) == ["0000:05:00.0": .changed])
        #expect(statuses(passes[1]) == ["0000:05:00.0": .unchanged, "0000:06:00.0": .changed])
        #expect(host.driver("05:00.0") == "vfio-pci" && host.driver("06:00.0") == "vfio-pci")
        // The pass ran 200 ms after the event.
        #expect(source.deadlines.dropFirst().first == .milliseconds(5200))
    }

    @Test("a burst of events (an editor's save) is debounced into one pass")
    func burst() {
        host.write("/etc/vfioctl.conf", "")
        let text = "[device 05:00.0]\ndriver = vfio-pci\n"
        let source = ScriptedEvents(
            [
                .init(at: .milliseconds(1000), events: [.configChanged], action: edit("[device 05:00.0]\n")),
                .init(at: .milliseconds(1040), events: [.configChanged, .configChanged], action: edit(text)),
                .init(at: .milliseconds(1080), events: [.configChanged]),
                .init(at: .milliseconds(1120), events: [.configChanged]),
            ], end: .seconds(10))
        let passes = run(source)
        #expect(passes.map(\.reason) == [.start, .config])
        // The half-written file (a section without driver) was never applied.
        #expect(passes.allSatisfy { $0.configError == nil })
        #expect(statuses(passes[1]) == ["0000:05:00.0": .changed])
    }

    @Test("an unchanged state does zero writes: periodic reconciles and a touched file")
    func idle() {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n[device 06:00.0]\ndriver = vfio-pci\n")
        let first = run(ScriptedEvents([], end: .seconds(1)))
        #expect(first.count == 1 && first[0].outcome?.matches == true)
        let mark = kernel.writes.count
        let state = host.read("/run/vfioctl/state.json")
        let source = ScriptedEvents([.init(at: .seconds(30), events: [.configChanged], action: edit(host.read("/etc/vfioctl.conf")!))], end: .seconds(220))
        let passes = run(source)
        // Reconciles 60 s after each pass: 90.2, 150.2, 210.2.
        #expect(passes.map(\.reason) == [.start, .config, .reconcile, .reconcile, .reconcile])
        #expect(passes.allSatisfy { $0.outcome?.matches == true && $0.outcome?.entries.allSatisfy { $0.status == .unchanged } == true })
        #expect(kernel.writes.count == mark, "\(kernel.writes.dropFirst(mark))")
        #expect(host.read("/run/vfioctl/state.json") == state)
    }

    @Test("SIGTERM during a pass: the pass finishes its transaction, then the watcher stops")
    func stopDuringPass() throws {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        let source = ScriptedEvents([], end: .seconds(600))
        // The stop request arrives with the pass's first sysfs write.
        kernel.onWrite { [source] _ in source.stopRequested.withLock { $0 = true } }
        let passes = run(source)
        kernel.onWrite(nil)
        #expect(passes.count == 1)
        #expect(statuses(passes[0]) == ["0000:05:00.0": .changed])
        #expect(host.driver("05:00.0") == "vfio-pci")
        #expect(try StateStore(root: host.root).load().devices.map(\.address.description) == ["0000:05:00.0"])
        #expect(source.now() == .zero, "it waited for the next pass instead of stopping")
    }

    @Test("a held device is not waited for: reported as waiting, retried when a node closes, then released")
    func heldDevice() throws {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(run(ScriptedEvents([], end: .seconds(1))).first?.outcome?.matches == true)
        try host.addVFIOGroupNode(19)
        host.addProcess(4242, comm: "qemu-system-x86")
        host.addFD(4242, 25, to: "/dev/vfio/19")
        host.write("/etc/vfioctl.conf", "[defaults]\ntimeout = 10m\n[device 05:00.0]\ndriver = host\n")
        let mark = kernel.writes.count
        let source = ScriptedEvents(
            [
                // Something else in /dev/vfio: a pass, still held.
                .init(at: .seconds(5), events: [.nodesChanged]),
                // The VM exits.
                .init(at: .seconds(9), events: [.nodesChanged], action: { [host] in host.removeProcess(4242) }),
            ], end: .seconds(20))
        let clock = ContinuousClock()
        let started = clock.now
        let passes = run(source)
        #expect(clock.now - started < .seconds(5), "a pass waited for the holder")
        #expect(passes.map(\.reason) == [.start, .holders, .holders])
        #expect(passes[0].waiting.map(\.address.description) == ["0000:05:00.0"])
        #expect(passes[1].waiting.count == 1)
        #expect(kernel.writes.count > mark)
        #expect(statuses(passes[2]) == ["0000:05:00.0": .changed])
        #expect(host.driver("05:00.0") == "igb")
    }

    @Test("a device already right and held is never touched by a (re)started watcher")
    func restartWithHolder() throws {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(run(ScriptedEvents([], end: .seconds(1))).first?.outcome?.matches == true)
        try host.addVFIOGroupNode(19)
        host.addProcess(4242, comm: "qemu-system-x86")
        host.addFD(4242, 25, to: "/dev/vfio/19")
        let mark = kernel.writes.count
        let passes = run(ScriptedEvents([], end: .seconds(130)))
        #expect(passes.count == 3)
        #expect(passes.allSatisfy { statuses($0) == ["0000:05:00.0": .unchanged] })
        #expect(kernel.writes.count == mark)
    }

    @Test("a file with an error: the error is reported each pass and the last good state stays in force")
    func badConfig() {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        let source = ScriptedEvents(
            [
                .init(at: .seconds(2), events: [.configChanged], action: edit("[device 05:00.0]\ndriver = vfio-pci\n[device 06:00.0]\ndrver = vfio-pci\n")),
                // Someone moves 05:00.0 back by hand: the reconcile restores the last good state.
                .init(at: .seconds(3), events: [], action: { [kernel] in try? kernel.write("0000:05:00.0", to: SysfsPaths.unbind("vfio-pci")) }),
                .init(at: .seconds(70), events: [.configChanged], action: edit("[device 05:00.0]\ndriver = vfio-pci\n[device 06:00.0]\ndriver = vfio-pci\n")),
            ], end: .seconds(75))
        let passes = run(source)
        #expect(passes.map(\.reason) == [.start, .config, .reconcile, .config])
        #expect(passes[1].configError?.message.contains("/etc/vfioctl.conf:4") == true)
        #expect(passes[1].usedLastGood)
        #expect(statuses(passes[1]) == ["0000:05:00.0": .unchanged])
        #expect(passes[2].configError != nil && passes[2].usedLastGood)
        #expect(statuses(passes[2]) == ["0000:05:00.0": .changed])
        #expect(statuses(passes[3]) == ["0000:05:00.0": .unchanged, "0000:06:00.0": .changed])
        #expect(passes[3].configError == nil)
        #expect(host.driver("06:00.0") == "vfio-pci")
    }

    @Test("a file with an error at the start: nothing is applied until it is fixed")
    func badAtStart() {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\n")
        let source = ScriptedEvents([.init(at: .seconds(2), events: [.configChanged], action: edit("[device 05:00.0]\ndriver = vfio-pci\n"))], end: .seconds(5))
        let passes = run(source)
        #expect(passes.count == 2)
        #expect(passes[0].configError != nil && !passes[0].usedLastGood && passes[0].outcome == nil)
        #expect(statuses(passes[1]) == ["0000:05:00.0": .changed])
    }
}

@Suite("CDI specs")
struct CDISpecTests {
    @Test("one device per VFIO-bound viable group, with the nodes that exist")
    func fixture() throws {
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24)
        _ = try host.addVFIODeviceNode("vfio0")
        _ = try host.addContainerNode()
        try host.makeCharNode("/dev/iommu", major: 10, minor: 123)
        let spec = try CDISpec.read(root: host.root)
        #expect(spec.cdiVersion == "0.6.0" && spec.kind == "vfioctl.io/group")
        #expect(spec.devices.map(\.name) == ["24"])
        #expect(spec.devices[0].containerEdits.deviceNodes.map(\.path) == ["/dev/vfio/vfio", "/dev/vfio/24", "/dev/vfio/devices/vfio0", "/dev/iommu"])
        #expect(spec.devices[0].annotations == ["vfioctl.io/devices": "0000:07:02.1"])
    }

    @Test("without cdevs or iommufd: the group node and the container only; no VFIO device: no devices")
    func legacy() throws {
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24)
        _ = try host.addContainerNode()
        #expect(try CDISpec.read(root: host.root).devices.map { $0.containerEdits.deviceNodes.map(\.path) } == [["/dev/vfio/vfio", "/dev/vfio/24"]])
        let plain = FixtureLayout.noIOMMU.build()
        #expect(try CDISpec.read(root: plain.root).devices.isEmpty)
    }

    @Test("the file is written atomically and not rewritten when unchanged")
    func write() throws {
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24)
        let spec = try CDISpec.read(root: host.root)
        let path = host.path + "/etc/cdi/vfioctl.json"
        #expect(try spec.write(to: path))
        #expect(Sysfs.readBytes(path, limit: 1 << 20) == spec.encoded())
        #expect(Sysfs.list(host.path + "/etc/cdi") == ["vfioctl.json"], "a temporary file was left behind")
        #expect(try spec.write(to: path) == false)
    }

    @Test(
        "kinds",
        arguments: [("vfioctl.io/group", true), ("example.com/gpu-vf", true), ("vfioctl.io", false), ("/group", false), ("a/b/c", false), ("x.io/-a", false), ("x.io/a b", false)])
    func kinds(kind: String, valid: Bool) {
        #expect(((try? CDISpec.validateKind(kind)) != nil) == valid)
    }
}
