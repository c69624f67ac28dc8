import Synchronization
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

/// The services as a front end (a hook, an agent) uses them: typed outcomes, events, no text.
@Suite("HostSession services")
struct HostSessionTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() { kernel = SimulatedKernel(host: host) }

    func session(dryRun: Bool = false, observer: (@Sendable (SessionEvent) -> Void)? = nil) -> HostSession {
        HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, dryRun: dryRun, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers, observer: observer)
    }

    func driver(_ address: String) -> String? { host.driver(address) }

    func request(_ targets: String...) throws -> BindRequest {
        BindRequest(targets: try targets.map { try Target(parsing: $0) })
    }

    @Test("bind returns the plan and the report; every executed step is reported as an event")
    func bindOutcome() throws {
        let steps = Mutex<[OperationStep]>([])
        let outcome = try session { event in
            if case .step(.performed(let step)) = event { steps.withLock { $0.append(step) } }
        }.bind(request("05:00.0"))
        guard case .bound(let plan, let report) = outcome.result else {
            Issue.record("not bound: \(outcome.result)")
            return
        }
        #expect(outcome.exitStatus == .success)
        #expect(report.moved.map(\.address) == [PCIAddress("05:00.0")!])
        #expect(steps.withLock { $0 } == plan.steps)
        #expect(driver("05:00.0") == "vfio-pci")
    }

    @Test("a dry run plans, writes nothing and takes no lock")
    func bindDryRun() throws {
        let outcome = try session(dryRun: true).bind(request("05:00.0"))
        guard case .planned(let plan) = outcome.result else {
            Issue.record("not planned: \(outcome.result)")
            return
        }
        #expect(plan.moves.count == 1)
        #expect(kernel.writes.isEmpty)
        #expect(host.read("/run/vfioctl/lock") == nil)
    }

    @Test("a refusal is an outcome with its reasons and exit status 2, not an error")
    func bindRefused() throws {
        // The GPU's group also holds its audio function on a host driver.
        let outcome = try session().bind(request("01:00.0"))
        guard case .refused(let refusal) = outcome.result else {
            Issue.record("not refused: \(outcome.result)")
            return
        }
        #expect(!refusal.reasons.isEmpty)
        #expect(outcome.exitStatus == .refused)
        #expect(kernel.writes.isEmpty)
    }

    @Test("release gives back to the recorded driver; restore then has nothing to do")
    func releaseAndRestore() throws {
        _ = try session().bind(request("05:00.0"))
        let released = try session().release(
            ReleaseRequest(kind: .unbind, targets: [.address(PCIAddress("05:00.0")!)]), wait: ReleaseWait(timeout: .seconds(1)))
        guard case .finished(let run) = released else {
            Issue.record("not finished: \(released)")
            return
        }
        #expect(run.result(of: PCIAddress("05:00.0")!) == .done(driver: "igb"))
        #expect(released.exitStatus == .success)
        guard case .finished(let nothing) = try session().restore(wait: ReleaseWait(timeout: .zero)) else {
            Issue.record("restore did not finish")
            return
        }
        #expect(nothing.plan.isNoOp)
    }

    @Test("apply composes bind and release: each device's detail is the service's own outcome")
    func applyComposes() throws {
        _ = try session().bind(request("06:00.0"))
        host.write(
            "/etc/vfioctl.conf",
            """
            [device 0000:05:00.0]
            driver = vfio-pci
            [device 0000:06:00.0]
            driver = host
            """)
        let outcome = try session().apply(try DesiredState.load(root: host.root, file: nil))
        #expect(outcome.exitStatus == .success)
        #expect(outcome.matches)
        let details = Dictionary(uniqueKeysWithValues: outcome.entries.map { ($0.address.description, $0) })
        guard case .bind(let bind, "vfio-pci")? = details["0000:05:00.0"]?.detail, case .bound = bind.result else {
            Issue.record("05:00.0 was not bound through bind: \(String(describing: details["0000:05:00.0"]))")
            return
        }
        guard case .release(.finished(let run), nil)? = details["0000:06:00.0"]?.detail else {
            Issue.record("06:00.0 was not released through release: \(String(describing: details["0000:06:00.0"]))")
            return
        }
        #expect(run.result(of: PCIAddress("06:00.0")!) == .done(driver: "igb"))
        #expect(driver("05:00.0") == "vfio-pci" && driver("06:00.0") == "igb")
    }

    @Test("release waits inside the service: a held group times out as an outcome, nothing written, progress reported")
    func releaseTimesOut() throws {
        _ = try session().bind(request("05:00.0"))
        try host.addVFIOGroupNode(19)
        host.addProcess(4242, comm: "qemu-system-x86")
        host.addFD(4242, 25, to: "/dev/vfio/19")
        let writes = kernel.writes.count
        let progress = Mutex(0)
        let outcome = try session { event in
            if case .waitingForHolders = event { progress.withLock { $0 += 1 } }
        }.release(ReleaseRequest(kind: .unbind, targets: [.address(PCIAddress("05:00.0")!)]), wait: ReleaseWait(timeout: .milliseconds(300)))
        guard case .finished(let run) = outcome else {
            Issue.record("not finished: \(outcome)")
            return
        }
        #expect(run.gaveUp)
        #expect(outcome.exitStatus == .timedOut)
        #expect(run.lastReport?.holders.map(\.pid) == [4242])
        #expect(progress.withLock { $0 } > 0)
        #expect(kernel.writes.count == writes)
        #expect(driver("05:00.0") == "vfio-pci")
        // Once the holder is gone, the same call gives the device back.
        host.removeProcess(4242)
        let released = try session().release(
            ReleaseRequest(kind: .unbind, targets: [.address(PCIAddress("05:00.0")!)]), wait: ReleaseWait(timeout: .seconds(1)))
        #expect(released.exitStatus == .success)
        #expect(driver("05:00.0") == "igb")
    }

    @Test("not root on the real host: refused before any write, exit 77")
    func needsRoot() throws {
        let session = HostSession(root: HostRoot(), kernel: kernel.interface, effectiveUID: 1000)
        let error = #expect(throws: VFIOError.self) { try session.bind(request("05:00.0")) }
        #expect(error?.exitStatus == .permissionDenied)
        #expect(error?.remedy == "try sudo, or --dry-run")
        #expect(kernel.writes.isEmpty)
    }
}

@Suite("Exit statuses")
struct ExitStatusTests {
    @Test(
        "the worst result wins: stranded over failed over refused over timed out",
        arguments: [
            (statuses: [VFIOModel.ExitStatus](), expected: VFIOModel.ExitStatus.success),
            (statuses: [VFIOModel.ExitStatus.success, VFIOModel.ExitStatus.timedOut], expected: VFIOModel.ExitStatus.timedOut),
            (statuses: [VFIOModel.ExitStatus.timedOut, VFIOModel.ExitStatus.refused], expected: VFIOModel.ExitStatus.refused),
            (statuses: [VFIOModel.ExitStatus.refused, VFIOModel.ExitStatus.failed, VFIOModel.ExitStatus.timedOut], expected: VFIOModel.ExitStatus.failed),
            (statuses: [VFIOModel.ExitStatus.failed, VFIOModel.ExitStatus.rollbackFailed], expected: VFIOModel.ExitStatus.rollbackFailed),
        ])
    func worst(_ statuses: [VFIOModel.ExitStatus], expected: VFIOModel.ExitStatus) {
        #expect(VFIOModel.ExitStatus.worst(statuses) == expected)
    }

    @Test("every error kind has its documented status", arguments: VFIOError.Kind.allCases)
    func kinds(_ kind: VFIOError.Kind) {
        let documented: [VFIOError.Kind: Int32] = [
            .failed: 1, .refused: 2, .timedOut: 3, .rollbackFailed: 4, .usage: 64, .unavailable: 69, .permissionDenied: 77,
        ]
        #expect(VFIOError(kind, reason: "x").exitCode == documented[kind])
    }

    @Test("the message is the reason, then the remedy")
    func message() {
        #expect(VFIOError.usage("bad", target: "--x", remedy: "use --y").message == "bad (use --y)")
        #expect(VFIOError.usage("bad").message == "bad")
    }
}
