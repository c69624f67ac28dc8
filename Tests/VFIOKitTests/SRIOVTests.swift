import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("SR-IOV planning")
struct SRIOVPlannerTests {
    static let pfAddress = PCIAddress("0000:04:00.0")!
    static let time = "2026-12-08T00:00:00Z"

    static func pf(numVFs: Int, autoprobe: Bool? = true, total: Int = 4, vfs: [String] = []) -> PCIDevice {
        var device = PCIDevice(address: pfAddress, vendorID: 0x1b36, deviceID: 0x0010, classCode: 0x010802, driver: "nvme")
        device.sriov = .init(
            totalVFs: total, numVFs: numVFs, driversAutoprobe: autoprobe, vfDeviceID: 0x0010, virtualFunctions: vfs.map { PCIAddress($0)! })
        return device
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var from: Int
        var autoprobe: Bool?
        var to: Int
        var writes: [String]
        var testDescription: String { "\(from) -> \(to), autoprobe \(String(describing: autoprobe))" }
    }

    @Test(
        "the writes: autoprobe off first, through 0 between non-zero counts",
        arguments: [
            Case(from: 0, autoprobe: true, to: 2, writes: ["sriov_drivers_autoprobe=0", "sriov_numvfs=2"]),
            Case(from: 0, autoprobe: false, to: 2, writes: ["sriov_numvfs=2"]),
            Case(from: 2, autoprobe: false, to: 3, writes: ["sriov_numvfs=0", "sriov_numvfs=3"]),
            Case(from: 2, autoprobe: true, to: 3, writes: ["sriov_drivers_autoprobe=0", "sriov_numvfs=0", "sriov_numvfs=3"]),
            Case(from: 2, autoprobe: true, to: 0, writes: ["sriov_numvfs=0"]),
            Case(from: 2, autoprobe: false, to: 2, writes: []),
        ])
    func writes(_ c: Case) throws {
        let vfs = (1...max(c.from, 1)).prefix(c.from).map { "0000:04:00.\($0)" }
        let plan = try SRIOVPlanner.plan(
            SRIOVRequest(pf: Self.pfAddress, numVFs: c.to), pf: Self.pf(numVFs: c.from, autoprobe: c.autoprobe, vfs: vfs), vfs: [],
            layout: VFLayout(offset: 1, stride: 1), record: nil, time: Self.time)
        let text = plan.steps.compactMap { step -> String? in
            guard case .write(let w) = step else { return nil }
            return String(w.path.split(separator: "/").last!) + "=" + w.value.dropLast()
        }
        #expect(text == c.writes)
        #expect(plan.removed.count == (c.from != c.to ? c.from : 0))
        #expect(plan.record.originalNumVFs == c.from)
    }

    @Test("VF addresses follow offset and stride")
    func layout() {
        #expect(VFLayout(offset: 1, stride: 1).addresses(of: Self.pfAddress, count: 2) == [PCIAddress("04:00.1")!, PCIAddress("04:00.2")!])
        #expect(VFLayout(offset: 16, stride: 2).addresses(of: PCIAddress("07:00.0")!, count: 2) == [PCIAddress("07:02.0")!, PCIAddress("07:02.2")!])
        #expect(VFLayout(offset: 0xffff, stride: 1).addresses(of: PCIAddress("ff:1f.7")!, count: 1) == nil)
    }

    @Test("a count above sriov_totalvfs is a usage error; a VF and a device without SR-IOV are refused")
    func badInput() {
        #expect(throws: VFIOError.self) {
            try SRIOVPlanner.plan(SRIOVRequest(pf: Self.pfAddress, numVFs: 5), pf: Self.pf(numVFs: 0), vfs: [], layout: nil, record: nil, time: Self.time)
        }
        do {
            _ = try SRIOVPlanner.plan(SRIOVRequest(pf: Self.pfAddress, numVFs: 5), pf: Self.pf(numVFs: 0), vfs: [], layout: nil, record: nil, time: FixtureClock.time)
        } catch { #expect(error.kind == .usage) }
        var plain = Self.pf(numVFs: 0)
        plain.sriov = nil
        do {
            _ = try SRIOVPlanner.plan(SRIOVRequest(pf: Self.pfAddress, numVFs: 1), pf: plain, vfs: [], layout: nil, record: nil, time: FixtureClock.time)
            Issue.record("planned for a device without SR-IOV")
        } catch { #expect(error.kind == .refused) }
        var vf = Self.pf(numVFs: 0)
        vf.physicalFunction = PCIAddress("04:00.0")
        do {
            _ = try SRIOVPlanner.plan(SRIOVRequest(pf: Self.pfAddress, numVFs: 1), pf: vf, vfs: [], layout: nil, record: nil, time: FixtureClock.time)
            Issue.record("planned for a VF")
        } catch { #expect(error.kind == .refused) }
    }

    @Test("a second run keeps the first originals")
    func keepsOriginals() throws {
        let first = SRIOVRecord(address: Self.pfAddress, originalNumVFs: 0, originalAutoprobe: true, numVFs: 2, vfDriver: "vfio-pci", time: FixtureClock.time)
        let plan = try SRIOVPlanner.plan(
            SRIOVRequest(pf: Self.pfAddress, numVFs: 3), pf: Self.pf(numVFs: 2, autoprobe: false, vfs: ["04:00.1", "04:00.2"]), vfs: [],
            layout: nil, record: first, time: FixtureClock.time)
        #expect(plan.record.originalNumVFs == 0)
        #expect(plan.record.originalAutoprobe == true)
    }

    @Test("restore writes: autoprobe back on before the original count, off after it")
    func restoreSteps() {
        let on = SRIOVRecord(address: Self.pfAddress, originalNumVFs: 0, originalAutoprobe: true, numVFs: 2, vfDriver: nil, time: FixtureClock.time)
        #expect(
            SRIOVPlanner.restoreSteps(on, currentNumVFs: 2, currentAutoprobe: false) == [
                .write(.setAutoprobe(Self.pfAddress, to: true)), .write(.setNumVFs(Self.pfAddress, to: 0)),
            ])
        let off = SRIOVRecord(address: Self.pfAddress, originalNumVFs: 1, originalAutoprobe: false, numVFs: 2, vfDriver: nil, time: FixtureClock.time)
        #expect(
            SRIOVPlanner.restoreSteps(off, currentNumVFs: 2, currentAutoprobe: true) == [
                .write(.setNumVFs(Self.pfAddress, to: 0)), .write(.setNumVFs(Self.pfAddress, to: 1)), .write(.setAutoprobe(Self.pfAddress, to: false)),
            ])
    }
}

@Suite("SR-IOV service on the simulated kernel")
struct SRIOVServiceTests {
    let host = FixtureHost.sriovNVMe()
    let kernel: SimulatedKernel
    let pf = FixtureHost.sriovNVMePF
    let vf1 = PCIAddress("0000:04:00.1")!
    let vf2 = PCIAddress("0000:04:00.2")!

    init() {
        kernel = SimulatedKernel(host: host)
        kernel.setVFDriver(FixtureHost.sriovNVMeVFDriver, for: FixtureHost.sriovNVMePF)
    }

    func session(dryRun: Bool = false) -> HostSession {
        HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, dryRun: dryRun, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers)
    }

    func sriov(_ n: Int, bind: Bool = true, wait: Duration? = nil, dryRun: Bool = false) throws -> SRIOVOutcome {
        try session(dryRun: dryRun).sriov(SRIOVRequest(pf: pf, numVFs: n, vfDriver: bind ? DriverName.vfioPCI : nil, wait: wait))
    }

    var numVFs: Int? { Sysfs.readInt(host.root.path(SysfsPaths.numVFs(pf))) }
    var autoprobe: Int? { Sysfs.readInt(host.root.path(SysfsPaths.driversAutoprobe(pf))) }
    var writePaths: [String] { kernel.writes.map { String($0.path.split(separator: "/").last!) + "=" + $0.value.filter { $0 != "\n" } } }

    /// Holds VF `vf`'s group node, as QEMU would.
    func hold(_ vf: PCIAddress) throws {
        let group = Int(Sysfs.linkName(host.root.device(vf) + "/iommu_group")!)!
        let node = try host.addVFIOGroupNode(group)
        host.addProcess(4242, comm: "qemu-system-x86")
        host.addFD(4242, 25, to: node)
    }

    @Test("the simulated kernel: VFs appear and go with sriov_numvfs; EBUSY between non-zero counts; ENOENT without a PF driver")
    func simulatedKernel() throws {
        try kernel.write("0\n", to: SysfsPaths.driversAutoprobe(pf))
        try kernel.write("2\n", to: SysfsPaths.numVFs(pf))
        #expect(host.devicePath(vf1) != nil && host.devicePath(vf2) != nil)
        #expect(Sysfs.linkName(host.root.device(pf) + "/virtfn1") == vf2.description)
        #expect(host.driver(of: vf1) == nil)
        #expect(throws: SysfsWriteError.self) { try kernel.write("3\n", to: SysfsPaths.numVFs(pf)) }
        #expect(kernel.writes.last?.errno == .resourceBusy)
        try kernel.write("0\n", to: SysfsPaths.numVFs(pf))
        #expect(host.devicePath(vf1) == nil)
        #expect(Sysfs.list(host.root.device(pf))!.filter { $0.hasPrefix("virtfn") }.isEmpty)
        // With autoprobe on, the host driver takes new VFs.
        try kernel.write("1\n", to: SysfsPaths.driversAutoprobe(pf))
        try kernel.write("1\n", to: SysfsPaths.numVFs(pf))
        #expect(host.driver(of: vf1) == "nvme")
        try kernel.write("0\n", to: SysfsPaths.numVFs(pf))
        host.detachDriver(pf)
        #expect(throws: SysfsWriteError.self) { try kernel.write("1\n", to: SysfsPaths.numVFs(pf)) }
    }

    @Test("2 VFs with --bind: autoprobe off first, no VF ever on nvme, both on vfio-pci, recorded; again is a no-op")
    func createAndBind() throws {
        let outcome = try sriov(2)
        #expect(outcome.exitStatus == .success, "\(outcome.result)")
        #expect(outcome.vfs == [vf1, vf2])
        #expect(Array(writePaths.prefix(2)) == ["sriov_drivers_autoprobe=0", "sriov_numvfs=2"])
        #expect(!kernel.writes.contains { $0.path.contains("/drivers/nvme/") })
        #expect(host.driver(of: vf1) == "vfio-pci" && host.driver(of: vf2) == "vfio-pci")
        let state = try StateStore(root: host.root).load()
        #expect(state.sriovRecord(pf) == SRIOVRecord(address: pf, originalNumVFs: 0, originalAutoprobe: true, numVFs: 2, vfDriver: "vfio-pci", time: state.sriovRecord(pf)!.time))
        #expect(state[vf1]?.boundDriver == "vfio-pci" && state[vf1]?.originalDriver == nil)

        let before = kernel.writes.count
        let again = try sriov(2)
        #expect(again.exitStatus == .success)
        #expect(!again.changed)
        #expect(kernel.writes.count == before)
    }

    @Test("a dry run prints the writes and the predicted binds, and writes nothing")
    func dryRun() throws {
        let outcome = try sriov(2, dryRun: true)
        guard case .planned = outcome.result, case .predicted(let driver, let steps) = outcome.bind else {
            Issue.record("\(outcome.result) \(outcome.bind)")
            return
        }
        #expect(driver == "vfio-pci")
        #expect(steps.contains(.write(.setOverride(vf2, to: "vfio-pci"))))
        #expect(outcome.vfs == [vf1, vf2])
        #expect(kernel.writes.isEmpty)
    }

    @Test("--vfs 0 while the VFs are on vfio-pci: refused without --timeout; held: exit 3 after it; free: removed")
    func teardownGuard() throws {
        _ = try sriov(2)
        let written = kernel.writes.count
        let refused = try sriov(0, bind: false)
        guard case .refused(let reasons) = refused.result else {
            Issue.record("\(refused.result)")
            return
        }
        #expect(reasons.first?.message.contains("on a VFIO driver (\(vf1) \(vf2))") == true)
        try hold(vf1)
        let held = try sriov(0, bind: false)
        guard case .refused(let heldReasons) = held.result else {
            Issue.record("\(held.result)")
            return
        }
        #expect(heldReasons.first?.message.contains("pid 4242") == true)
        let timedOut = try sriov(0, bind: false, wait: .milliseconds(200))
        #expect(timedOut.exitStatus == .timedOut)
        #expect(kernel.writes.count == written)
        #expect(numVFs == 2)
        host.removeProcess(4242)
        let done = try sriov(0, bind: false, wait: .seconds(2))
        #expect(done.exitStatus == .success, "\(done.result)")
        #expect(numVFs == 0)
        #expect(host.devicePath(vf1) == nil)
        #expect(try StateStore(root: host.root).load()[vf1] == nil)
    }

    /// Two VFs created with autoprobe on, so nvme probes them as the host would.
    func hostDriverVFs() throws {
        try kernel.write("2\n", to: SysfsPaths.numVFs(pf))
        #expect(host.driver(of: vf1) == "nvme" && host.driver(of: vf2) == "nvme")
    }

    @Test("--vfs 0 while a VF on its host driver has a mounted namespace: refused at once, even with --timeout; nothing written")
    func teardownGuardHostMount() throws {
        try hostDriverVFs()
        host.addDisk("nvme1n1", on: vf1, subpath: "nvme/nvme1", dev: "259:7")
        host.mount(dev: "259:7", source: "/dev/nvme1n1", at: "/srv/vf")
        let written = kernel.writes.count
        for wait in [nil, Duration.seconds(5)] {
            let clock = ContinuousClock()
            let started = clock.now
            let outcome = try sriov(0, bind: false, wait: wait)
            guard case .refused(let reasons) = outcome.result else {
                Issue.record("\(outcome.result)")
                return
            }
            #expect(clock.now - started < .seconds(4), "waited for a mount")
            #expect(reasons.first?.message.contains("removes \(vf1), which the host uses") == true, "\(reasons)")
            #expect(reasons.first?.message.contains("/srv/vf") == true)
            #expect(reasons.first?.remedy?.contains("umount") == true, "\(String(describing: reasons.first?.remedy))")
        }
        #expect(kernel.writes.count == written)
        #expect(numVFs == 2)
    }

    @Test("--vfs 0 while a process holds a host-driver VF's own node: refused, exit 3 after --timeout, done once it exits")
    func teardownGuardHostNode() throws {
        try hostDriverVFs()
        if let btime = Sysfs.read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }), let seconds = Int64(btime.dropFirst(6)) {
            host.setBootTime(seconds)
        }
        try host.addCharDevice(on: vf2, subpath: "nvme/nvme2", dev: "241:2", devName: "nvme2")
        let holder = try NodeHolder(holding: host.path + "/dev/nvme2")
        host.linkRealProcess(holder.pid)
        let written = kernel.writes.count
        let refused = try sriov(0, bind: false)
        guard case .refused(let reasons) = refused.result else {
            Issue.record("\(refused.result)")
            return
        }
        #expect(reasons.first?.message.contains("pid \(holder.pid)") == true, "\(reasons)")
        let timedOut = try sriov(0, bind: false, wait: .milliseconds(200))
        #expect(timedOut.exitStatus == .timedOut, "\(timedOut.result)")
        #expect(kernel.writes.count == written)
        holder.kill()
        holder.reap()
        let done = try sriov(0, bind: false, wait: .seconds(5))
        #expect(done.exitStatus == .success, "\(done.result)")
        #expect(numVFs == 0)
    }

    @Test("a state file that cannot be updated after the count changed is a warning of the outcome, on create and on restore")
    func staleStateIsWarned() throws {
        // Once the kernel has the new count, the state file goes bad (another tool, a full /run):
        // the VFs exist either way, so the outcome is done, and says the record is stale.
        let host = self.host
        kernel.onWrite { write in
            if write.errno == nil, write.path.hasSuffix("/sriov_numvfs") { host.write("/run/vfioctl/state.json", "{ not json") }
        }
        let created = try sriov(2, bind: false)
        #expect(created.exitStatus == .success, "\(created.result)")
        #expect(numVFs == 2)
        #expect(created.warnings.count == 1)
        #expect(created.warnings.first?.contains("/run/vfioctl/state.json could not be updated (recording \(pf)'s VF count)") == true, "\(created.warnings)")

        kernel.onWrite(nil)
        host.write("/run/vfioctl/state.json", "")
        var state = HostState()
        state.sriov = [SRIOVRecord(address: pf, originalNumVFs: 0, originalAutoprobe: true, numVFs: 2, vfDriver: nil, time: FixtureClock.time)]
        try StateStore(root: host.root).save(state)
        kernel.onWrite { write in
            if write.errno == nil, write.path.hasSuffix("/sriov_numvfs") { host.write("/run/vfioctl/state.json", "{ not json") }
        }
        let restored = session().restoreSRIOV()
        #expect(numVFs == 0)
        #expect(restored.map(\.pf) == [pf] && restored.first?.error == nil)
        #expect(restored.first?.warning?.contains("forgetting \(pf)'s VF count") == true, "\(restored)")
    }

    @Test("restore gives the VFs back, then puts sriov_numvfs and autoprobe back")
    func restore() throws {
        _ = try sriov(2)
        let outcome = try session().restore(wait: ReleaseWait(timeout: .seconds(1)))
        guard case .finished(let run) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(outcome.exitStatus == .success)
        #expect(run.sriov.map(\.pf) == [pf])
        #expect(numVFs == 0)
        #expect(autoprobe == 1)
        let state = try StateStore(root: host.root).load()
        #expect(state.devices.isEmpty && state.sriov == nil)
    }

    @Test("a bind that fails puts the count back")
    func bindFailureRollsBack() throws {
        kernel.inject(.probe(vf2, driver: "vfio-pci", errno: .resourceBusy))
        let outcome = try sriov(2)
        #expect(outcome.exitStatus == .failed, "\(outcome.result)")
        #expect(numVFs == 0)
        #expect(autoprobe == 1)
        #expect(try StateStore(root: host.root).load().sriov == nil)
    }

    @Test("apply: vfs = on a PF section creates and binds the VFs; a second run changes nothing")
    func apply() throws {
        let desired = try DesiredState.parse("[device 0000:04:00.0]\nvfs = 2\nvf-driver = vfio-pci\n", file: "t.conf")
        #expect(desired.entries.isEmpty && desired.sriov.map(\.numVFs) == [2])
        let first = try session().apply(desired)
        #expect(first.exitStatus == .success)
        #expect(first.entries.map(\.status) == [.changed])
        #expect(host.driver(of: vf1) == "vfio-pci" && host.driver(of: vf2) == "vfio-pci")
        let written = kernel.writes.count
        let second = try session().apply(desired)
        #expect(second.entries.map(\.status) == [.unchanged])
        #expect(second.matches)
        #expect(kernel.writes.count == written)
    }

    @Test("apply: the PF's driver first, then its VFs, then entries naming the VFs")
    func applyOrder() throws {
        kernel.makeLoadable("nvme")
        let text = """
            [device 0000:04:00.2]
            driver = none

            [device 0000:04:00.0]
            driver = nvme
            vfs = 2
            vf-driver = vfio-pci
            """
        let outcome = try session().apply(try DesiredState.parse(text, file: "t.conf"))
        #expect(outcome.entries.map(\.address) == [pf, pf, vf2], "\(outcome.entries.map(\.source))")
        // vf2 has an entry of its own, so the VFs' bind leaves it unbound as that entry says.
        #expect(outcome.entries.map(\.status) == [.unchanged, .changed, .unchanged], "\(outcome.entries.map(\.detail))")
        #expect(host.driver(of: vf1) == "vfio-pci" && host.driver(of: vf2) == nil)
        // Again: the VF with its own entry stays as that entry says.
        let again = try session().apply(try DesiredState.parse(text, file: "t.conf"))
        #expect(again.entries.map(\.status) == [.unchanged, .unchanged, .unchanged], "\(again.entries.map(\.detail))")
    }

    @Test(
        "the desired-state keys: vfs on [device] only, vf-driver needs vfs",
        arguments: [
            "[ids 1b36:0010]\nvfs = 2\n", "[device 0000:04:00.0]\nvf-driver = vfio-pci\n", "[device 0000:04:00.0]\nvfs = -1\n",
            "[device 0000:04:00.0]\nvfs = 2\nvf-driver = nvme\n",
        ])
    func parserErrors(_ text: String) {
        #expect(throws: VFIOError.self) { try DesiredState.parse(text, file: "t.conf") }
    }

    @Test("--msix: written on each new VF before its bind, where the PF offers it")
    func msix() throws {
        func request(_ n: Int, _ msix: Int) -> SRIOVRequest {
            var r = SRIOVRequest(pf: pf, numVFs: n, vfDriver: DriverName.vfioPCI)
            r.msix = msix
            return r
        }
        do {
            _ = try session().sriov(request(2, 8))
            Issue.record("--msix accepted on a PF without sriov_vf_total_msix")
        } catch { #expect(error.kind == .refused) }
        host.write(SysfsPaths.vfTotalMSIX(pf), "64\n")
        do {
            _ = try session().sriov(request(2, 40))
            Issue.record("--msix above the total accepted")
        } catch { #expect(error.kind == .usage) }
        #expect(kernel.writes.isEmpty)
        let outcome = try session().sriov(request(2, 8))
        #expect(outcome.exitStatus == .success, "\(outcome.result)")
        #expect(Array(writePaths.prefix(4)) == ["sriov_drivers_autoprobe=0", "sriov_numvfs=2", "sriov_vf_msix_count=8", "sriov_vf_msix_count=8"])
        #expect(Sysfs.readInt(host.root.path(SysfsPaths.vfMSIXCount(vf2))) == 8)
        #expect(host.driver(of: vf2) == "vfio-pci")
        // Same count, VFs on vfio-pci: each off its driver (the override stays), written, probed back.
        let before = kernel.writes.count
        let again = try session().sriov(request(2, 4))
        #expect(again.exitStatus == .success, "\(again.result)")
        #expect(
            Array(writePaths.dropFirst(before)) == [
                "unbind=\(vf1)", "sriov_vf_msix_count=4", "drivers_probe=\(vf1)", "unbind=\(vf2)", "sriov_vf_msix_count=4", "drivers_probe=\(vf2)",
            ])
        #expect(Sysfs.readInt(host.root.path(SysfsPaths.vfMSIXCount(vf1))) == 4)
        #expect(host.driver(of: vf1) == "vfio-pci" && host.driver(of: vf2) == "vfio-pci")
        // Held: it would block in the unbind, so it is refused with nothing written.
        try hold(vf2)
        let written = kernel.writes.count
        let held = try session().sriov(request(2, 2))
        guard case .refused(let reasons) = held.result else {
            Issue.record("\(held.result)")
            return
        }
        #expect(reasons.first?.message.contains("pid 4242") == true, "\(reasons)")
        #expect(kernel.writes.count == written)
    }

    @Test("--msix on VFs on a host driver with autoprobe off: back on it through a passing override, the override as it was")
    func msixHostDriverVFs() throws {
        host.write(SysfsPaths.vfTotalMSIX(pf), "64\n")
        try hostDriverVFs()
        try kernel.write("0\n", to: SysfsPaths.driversAutoprobe(pf))
        var r = SRIOVRequest(pf: pf, numVFs: 2)
        r.msix = 16
        let dry = try session(dryRun: true).sriov(r)
        #expect(dry.writeSteps.contains(.write(.setOverride(vf1, to: "nvme"))))
        let before = kernel.writes.count
        let outcome = try session().sriov(r)
        #expect(outcome.exitStatus == .success, "\(outcome.result)")
        #expect(
            Array(writePaths.dropFirst(before).prefix(5)) == ["unbind=\(vf1)", "sriov_vf_msix_count=16", "driver_override=nvme", "drivers_probe=\(vf1)", "driver_override="])
        #expect(host.driver(of: vf1) == "nvme" && host.driver(of: vf2) == "nvme")
        #expect(host.read(SysfsPaths.driverOverride(vf1))?.hasPrefix("(null)") == true || host.read(SysfsPaths.driverOverride(vf1)) == "\n")
        #expect(Sysfs.readInt(host.root.path(SysfsPaths.vfMSIXCount(vf2))) == 16)
    }

    @Test("old state files decode; one without SR-IOV records writes no sriov field")
    func stateCompatible() throws {
        host.write("/run/vfioctl/state.json", #"{"schemaVersion": 1, "devices": []}"#)
        let store = StateStore(root: host.root)
        #expect(try store.load().sriov == nil)
        try store.save(try store.load())
        #expect(host.read("/run/vfioctl/state.json")?.contains("sriov") == false)
    }
}
