import SystemPackage
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// Shared set-up: a desktop fixture, a simulated kernel on it, and plans made from it.
struct BindBench {
    let host: FixtureHost
    let kernel: SimulatedKernel
    static let fast = ExecutorOptions(busyRetries: 2, retryDelay: .zero, verifyTimeout: .zero, pollInterval: .zero)

    init(_ layout: FixtureLayout = .desktop) {
        host = layout.build()
        kernel = SimulatedKernel(host: host)
    }

    var executor: Executor { Executor(root: host.root, kernel: kernel.interface, options: Self.fast) }
    var operation: BindOperation { BindOperation(root: host.root, executor: executor) }
    var store: StateStore { StateStore(root: host.root) }

    func plan(_ targets: [String], group: Bool = false, force: Bool = false, driver: String = "vfio-pci") throws -> BindPlan {
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        let request = BindRequest(targets: try targets.map { try Target(parsing: $0) }, driver: driver, wholeGroup: group, force: force)
        let uses = InUseDetector(root: host.root).uses(of: try BindPlanner.affectedDevices(request, inventory: inventory))
        guard case .plan(let plan) = try BindPlanner.plan(request, inventory: inventory, environment: .read(root: host.root), uses: uses) else {
            throw VFIOError.refused("unexpected refusal")
        }
        return plan
    }

    func driver(_ address: String) -> String? { host.driver(address) }
    func override(_ address: String) -> String? { host.read("/sys/bus/pci/devices/\(PCIAddress(address)!)/driver_override") }
}

@Suite("Executing binds: transactions, rollback, verification")
struct ExecutorTests {
    @Test("one device: exactly the planned writes, then verified on vfio-pci with vfio-dev and /dev/vfio/N")
    func single() throws {
        let bench = BindBench()
        let plan = try bench.plan(["05:00.0"])
        #expect(bench.executor.transaction(plan.moves.map(DeviceChange.init)) == .completed)
        #expect(bench.kernel.writes.map { $0.value + " > " + $0.path } == plan.writes.map { $0.value + " > " + $0.path })
        #expect(bench.driver("05:00.0") == "vfio-pci")
        #expect(bench.override("05:00.0") == "vfio-pci")
        #expect(Sysfs.exists(bench.host.path + "/dev/vfio/19"))
    }

    @Test("a group: a probe failure on the second member rolls both back to their drivers and overrides")
    func rollback() throws {
        let bench = BindBench()
        let plan = try bench.plan(["08:01.0"], group: true)
        bench.kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        let outcome = bench.executor.transaction(plan.moves.map(DeviceChange.init))
        guard case .rolledBack(let failure, let restored) = outcome else {
            Issue.record("expected a rollback, got \(outcome)")
            return
        }
        #expect(failure.address == PCIAddress("08:01.0"))
        #expect(failure.message.contains("expected driver vfio-pci but it is unbound"))
        #expect(restored == [PCIAddress("08:01.0")!, PCIAddress("08:00.0")!])
        #expect(bench.driver("08:00.0") == "firewire_ohci")
        #expect(bench.driver("08:01.0") == "r8169")
        #expect(bench.override("08:00.0") == "(null)")
        #expect(bench.override("08:01.0") == "(null)")
        #expect(!Sysfs.exists(bench.host.path + "/dev/vfio/25"))
        // The exact sequence: forward for both, then each undone from where it got, newest first.
        let expected: [(String, String)] = [
            ("vfio-pci\n", "/sys/bus/pci/devices/0000:08:00.0/driver_override"),
            ("0000:08:00.0\n", "/sys/bus/pci/drivers/firewire_ohci/unbind"),
            ("0000:08:00.0\n", "/sys/bus/pci/drivers_probe"),
            ("vfio-pci\n", "/sys/bus/pci/devices/0000:08:01.0/driver_override"),
            ("0000:08:01.0\n", "/sys/bus/pci/drivers/r8169/unbind"),
            ("0000:08:01.0\n", "/sys/bus/pci/drivers_probe"),
            ("\n", "/sys/bus/pci/devices/0000:08:01.0/driver_override"),
            ("0000:08:01.0\n", "/sys/bus/pci/drivers/r8169/bind"),
            ("\n", "/sys/bus/pci/devices/0000:08:00.0/driver_override"),
            ("0000:08:00.0\n", "/sys/bus/pci/drivers/vfio-pci/unbind"),
            ("0000:08:00.0\n", "/sys/bus/pci/drivers/firewire_ohci/bind"),
        ]
        #expect(bench.kernel.writes.map { "\($0.value.debugDescription) > \($0.path)" } == expected.map { "\($0.0.debugDescription) > \($0.1)" })
        #expect(bench.kernel.writes.allSatisfy { $0.errno == nil && !$0.value.isEmpty })
    }

    @Test("a failed write mid-group (unbind EIO) rolls back what was done")
    func writeFailure() throws {
        let bench = BindBench()
        let plan = try bench.plan(["08:01.0"], group: true)
        bench.kernel.inject(.unbind(PCIAddress("08:01.0")!, errno: Errno(rawValue: EIO)))
        guard case .rolledBack(let failure, _) = bench.executor.transaction(plan.moves.map(DeviceChange.init)) else {
            Issue.record("expected a rollback")
            return
        }
        #expect(failure.errno == Errno(rawValue: EIO))
        #expect(failure.message == "cannot write '0000:08:01.0' to /sys/bus/pci/drivers/r8169/unbind: Input/output error (EIO)")
        #expect(bench.driver("08:00.0") == "firewire_ohci")
        #expect(bench.driver("08:01.0") == "r8169")
        #expect(bench.override("08:01.0") == "(null)")
    }

    @Test("when the rollback fails too, the stranded device and where it is are reported")
    func rollbackFailure() throws {
        let bench = BindBench()
        let plan = try bench.plan(["08:01.0"], group: true)
        bench.kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        bench.kernel.inject(.write(path: "/sys/bus/pci/drivers/vfio-pci/unbind", errno: Errno(rawValue: EIO)))
        guard case .rollbackFailed(_, let restored, let stranded) = bench.executor.transaction(plan.moves.map(DeviceChange.init)) else {
            Issue.record("expected a failed rollback")
            return
        }
        #expect(restored == [PCIAddress("08:01.0")!])
        #expect(stranded.map(\.address) == [PCIAddress("08:00.0")!])
        #expect(stranded.first?.current.driver == "vfio-pci")
        #expect(bench.driver("08:00.0") == "vfio-pci")
    }

    @Test("EBUSY is retried a bounded number of times")
    func busyRetry() throws {
        let bench = BindBench()
        let plan = try bench.plan(["05:00.0"])
        bench.kernel.inject(.write(path: "/sys/bus/pci/drivers_probe", errno: Errno(rawValue: EBUSY)), times: 2)
        #expect(bench.executor.transaction(plan.moves.map(DeviceChange.init)) == .completed)
        #expect(bench.kernel.writes.filter { $0.path == "/sys/bus/pci/drivers_probe" }.map(\.errno) == [Errno(rawValue: EBUSY), Errno(rawValue: EBUSY), nil])

        let busy = BindBench()
        let plan2 = try busy.plan(["05:00.0"])
        busy.kernel.inject(.write(path: "/sys/bus/pci/drivers_probe", errno: Errno(rawValue: EBUSY)))
        guard case .rolledBack(let failure, _) = busy.executor.transaction(plan2.moves.map(DeviceChange.init)) else {
            Issue.record("expected a rollback")
            return
        }
        #expect(failure.errno == Errno(rawValue: EBUSY))
        #expect(busy.kernel.writes.filter { $0.path == "/sys/bus/pci/drivers_probe" }.count == 3)
        #expect(busy.driver("05:00.0") == "igb")
    }

    @Test("unbind's ENODEV is fine when the device already left that driver (a race), not otherwise")
    func unbindRace() throws {
        let bench = BindBench()
        let plan = try bench.plan(["05:00.0"])
        let host = bench.host
        bench.kernel.onWrite { write in
            if write.path.hasSuffix("/driver_override") && write.value == "vfio-pci\n" { host.detachDriver(PCIAddress("05:00.0")!) }
        }
        #expect(bench.executor.transaction(plan.moves.map(DeviceChange.init)) == .completed)
        #expect(bench.driver("05:00.0") == "vfio-pci")
        #expect(bench.kernel.writes[1].errno == Errno(rawValue: ENODEV))
    }

    @Test("verification catches a probe that bound nothing, and vfio-dev/ missing")
    func verification() throws {
        let bench = BindBench()
        let executor = bench.executor
        let address = PCIAddress("05:00.0")!
        #expect(throws: StepFailure.self) { try executor.run(.verify(address, driver: "vfio-pci")) }
        try executor.run(.verify(address, driver: "igb"))
        // A driver link that says vfio-pci without the registration vfio makes.
        bench.host.attachDriver(address, "vfio-pci")
        let error = #expect(throws: StepFailure.self) { try executor.run(.verify(address, driver: "vfio-pci")) }
        #expect(error?.message.contains("vfio-dev/ is missing") == true)
    }

    @Test("the module is loaded when the driver directory is missing, and checked afterwards")
    func moduleLoad() throws {
        let bench = BindBench()
        let executor = bench.executor
        try executor.run(.loadModule("pci-stub"))
        #expect(bench.kernel.loads == ["pci-stub"])
        let error = #expect(throws: StepFailure.self) { try executor.run(.loadModule("nope_vfio_pci")) }
        #expect(error?.message.contains("nope_vfio_pci") == true)
    }
}

@Suite("Bind operations: state file around the transaction")
struct BindOperationTests {
    @Test("the originals are on disk before the first sysfs write; after success they are marked bound")
    func recordedFirst() throws {
        let bench = BindBench()
        let plan = try bench.plan(["08:01.0"], group: true)
        let store = bench.store
        let seen = Box<HostState?>(nil)
        bench.kernel.onWrite { _ in
            if seen.value == nil { seen.value = try? store.load() }
        }
        let report = try bench.operation.execute(plan)
        #expect(report.moved.count == 2)
        let before = try #require(seen.value)
        #expect(before.devices.map(\.address.description) == ["0000:08:00.0", "0000:08:01.0"])
        #expect(before.devices.map(\.status) == [.pending, .pending])
        #expect(before.devices.map(\.originalDriver) == ["firewire_ohci", "r8169"])
        let after = try store.load()
        #expect(after.devices.map(\.status) == [.bound, .bound])
        #expect(after.devices.map(\.boundDriver) == ["vfio-pci", "vfio-pci"])
        #expect(after.devices.map(\.group) == [25, 25])
        #expect(after.devices.allSatisfy { $0.originalOverride == nil && $0.currentDriver == nil })
    }

    @Test("after a rollback the state file is as before; exit 1 with what was rolled back")
    func rolledBack() throws {
        let bench = BindBench()
        try bench.store.record([
            DeviceRecord(
                address: PCIAddress("07:02.1")!, group: 24, originalDriver: "iavf", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: "2026-01-01T00:00:00Z")
        ])
        let before = try bench.store.load()
        let plan = try bench.plan(["08:01.0"], group: true)
        bench.kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        let error = #expect(throws: VFIOError.self) { try bench.operation.execute(plan) }
        #expect(error?.exitCode == 1)
        #expect(error?.message.contains("rolled back: 0000:08:00.0 (firewire_ohci), 0000:08:01.0 (r8169)") == true)
        #expect(try bench.store.load() == before)
    }

    @Test("when the rollback fails, exit 4 and the state file says where the device was left")
    func rollbackFailed() throws {
        let bench = BindBench()
        let plan = try bench.plan(["08:01.0"], group: true)
        bench.kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        bench.kernel.inject(.write(path: "/sys/bus/pci/drivers/vfio-pci/unbind", errno: Errno(rawValue: EIO)))
        let error = #expect(throws: VFIOError.self) { try bench.operation.execute(plan) }
        #expect(error?.exitCode == 4)
        #expect(error?.message.contains("0000:08:00.0 is left on vfio-pci") == true)
        let state = try bench.store.load()
        #expect(state.devices.count == 1)
        let record = try #require(state[PCIAddress("08:00.0")!])
        #expect(record.status == .rollbackFailed)
        #expect(record.currentDriver == "vfio-pci")
        #expect(record.originalDriver == "firewire_ohci")
    }

    @Test("a module that cannot be loaded: exit 69, no write, no state")
    func moduleUnavailable() throws {
        let bench = BindBench()
        bench.kernel.makeUnloadable("vfio-pci")
        let plan = try bench.plan(["05:00.0"])
        var noDriver = plan
        noDriver.loadModule = "vfio-pci"
        let error = #expect(throws: VFIOError.self) { try bench.operation.execute(noDriver) }
        #expect(error?.exitCode == 69)
        #expect(bench.kernel.writes.isEmpty)
        #expect(!Sysfs.exists(bench.store.path))
    }

    @Test("binding on to a variant driver keeps the first original driver")
    func variantKeepsOriginal() throws {
        let bench = BindBench()
        bench.kernel.makeLoadable("igb_vfio_pci")
        _ = try bench.operation.execute(bench.plan(["05:00.0"]))
        try bench.kernel.load("igb_vfio_pci")
        _ = try bench.operation.execute(bench.plan(["05:00.0"], driver: "igb_vfio_pci"))
        #expect(bench.driver("05:00.0") == "igb_vfio_pci")
        let record = try #require(try bench.store.load()[PCIAddress("05:00.0")!])
        #expect(record.originalDriver == "igb")
        #expect(record.boundDriver == "igb_vfio_pci")
    }

    @Test("repeating a bind is a no-op: no writes, state unchanged")
    func idempotent() throws {
        let bench = BindBench()
        _ = try bench.operation.execute(bench.plan(["05:00.0"]))
        let writes = bench.kernel.writes.count
        let state = try bench.store.load()
        let again = try bench.plan(["05:00.0"])
        #expect(again.isNoOp)
        #expect(try bench.operation.execute(again).moved.isEmpty)
        #expect(bench.kernel.writes.count == writes)
        #expect(try bench.store.load() == state)
    }
}

/// A mutable box for values captured by `@Sendable` closures in tests.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
