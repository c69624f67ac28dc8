import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

/// What the bind guard makes of host holders and of network stacking: refusals naming who and
/// what, remedies, `--force`.
@Suite("Bind guard: host processes, bridges, bonds and upper devices")
struct HostUseBindTests {
    static let nic = PCIAddress("0000:05:00.0")!
    static let nvme = PCIAddress("0000:02:00.0")!

    let host: FixtureHost
    let kernel: SimulatedKernel

    init() throws {
        host = try FixtureHost.desktopWithVFIONodes()
        kernel = SimulatedKernel(host: host)
        try host.addCharDevice(on: Self.nvme, subpath: "nvme/nvme0", dev: "241:0", devName: "nvme0")
        host.addDisk("nvme0n1", on: Self.nvme, subpath: "nvme/nvme0", dev: "259:0")
        try host.makeBlockNodes(["nvme0n1"])
        host.addNetworkInterface("eth0", on: Self.nic, up: true)
    }

    func session(dryRun: Bool = false) -> HostSession {
        HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, dryRun: dryRun, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers)
    }

    func bind(_ target: String, force: Bool = false) throws -> BindOutcome {
        try session().bind(BindRequest(targets: [try Target(parsing: target)], force: force))
    }

    func uses(_ address: PCIAddress) throws -> [DeviceUse] {
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        return InUseDetector(root: host.root).uses(of: [inventory.device(address)!])
    }

    func refusal(_ outcome: BindOutcome) -> BindRefusal? {
        if case .refused(let refusal) = outcome.result { return refusal }
        return nil
    }

    // MARK: - Host processes

    @Test("a raw namespace held by a service: refused, exit 2, nothing written, naming pid, command, unit and node")
    func nvmeRefused() throws {
        host.addProcess(2000, comm: "postgres", cgroup: "0::/system.slice/postgresql.service")
        host.addFD(2000, 7, to: "/dev/nvme0n1")
        let before = host.snapshot().filter { !$0.key.hasPrefix("/run/") }
        let outcome = try bind("02:00.0")
        let refused = try #require(refusal(outcome))
        #expect(outcome.exitStatus == .refused)
        #expect(kernel.writes.isEmpty)
        // Only the host lock is taken; sysfs and the state file are untouched.
        #expect(host.snapshot().filter { !$0.key.hasPrefix("/run/") } == before)
        #expect(host.read("/run/vfioctl/state.json") == nil)
        let reason = try #require(refused.reasons.first)
        #expect(refused.reasons.count == 1)
        #expect(reason.use?.kind == .openDeviceNode)
        #expect(reason.message == "0000:02:00.0 is in use: pid 2000 (postgres, postgresql.service) has /dev/nvme0n1 open")
        #expect(reason.remedy == "free it (systemctl stop postgresql.service) or pass --force")
    }

    @Test("the controller node held by a process in a session: the remedy names the pid")
    func controllerRefused() throws {
        host.addProcess(2001, comm: "nvme")
        host.addFD(2001, 3, to: "/dev/nvme0")
        let reason = try #require(refusal(try bind("02:00.0"))?.reasons.first)
        #expect(reason.message == "0000:02:00.0 is in use: pid 2001 (nvme, session-1.scope) has /dev/nvme0 open")
        #expect(reason.remedy == "free it (make pid 2001 close /dev/nvme0, or end it (kill 2001)) or pass --force")
    }

    @Test("--force binds a device a host process holds, and reports what it overrode")
    func forced() throws {
        host.addProcess(2000, comm: "postgres")
        host.addFD(2000, 7, to: "/dev/nvme0n1")
        let outcome = try bind("02:00.0", force: true)
        guard case .bound(let plan, _) = outcome.result else {
            Issue.record("not bound: \(outcome.result)")
            return
        }
        #expect(plan.forced.map(\.kind) == [.openDeviceNode])
        #expect(host.driver("0000:02:00.0") == "vfio-pci")
    }

    @Test("once the holder is gone the bind goes through")
    func afterHolderExits() throws {
        host.addProcess(2000, comm: "postgres")
        host.addFD(2000, 7, to: "/dev/nvme0n1")
        #expect(refusal(try bind("02:00.0")) != nil)
        host.removeProcess(2000)
        let outcome = try bind("02:00.0")
        #expect(outcome.exitStatus == .success)
        #expect(host.driver("0000:02:00.0") == "vfio-pci")
    }

    @Test("wording: several nodes, open and mapped, in one use per process")
    func wording() {
        let process = HolderProcess(
            pid: 812,
            handles: [
                HeldHandle(kind: .hostNode, fd: 11, path: "/dev/dri/card0", device: Self.nic),
                HeldHandle(kind: .hostNode, path: "/dev/dri/renderD128", device: Self.nic, range: "1-2"),
            ], command: "Xorg", unit: "display-manager.service")
        let use = InUseClassifier.hostProcessUse(Self.nic, process: process, handles: process.handles)
        #expect(use.what == "pid 812 (Xorg, display-manager.service) has /dev/dri/card0 open and has /dev/dri/renderD128 mapped")
        #expect(use.remedy == "systemctl stop display-manager.service")
        #expect(use.forceable)
    }

    // MARK: - Network

    @Test("a bridge port with no address: in use, naming the bridge")
    func bridgePort() throws {
        host.addVirtualInterface("br0", type: "bridge", up: true)
        host.enslave("eth0", to: "br0", bridgePort: true)
        let found = try uses(Self.nic)
        #expect(found.map(\.kind) == [.bridgePort])
        #expect(found.first?.what == "eth0 is a port of bridge br0")
        #expect(found.first?.remedy == "ip link set eth0 nomaster")
        let reason = try #require(refusal(try bind("05:00.0"))?.reasons.first)
        #expect(reason.message == "0000:05:00.0 is in use: eth0 is a port of bridge br0")
        #expect(reason.remedy == "free it (ip link set eth0 nomaster) or pass --force")
    }

    @Test("a bridge port counts even when the port is down")
    func bridgePortDown() throws {
        host.addNetworkInterface("eth9", on: Self.nic, up: false, subpath: "")
        host.addVirtualInterface("br0", type: "bridge", up: true)
        host.enslave("eth9", to: "br0", bridgePort: true)
        #expect(try uses(Self.nic).map(\.kind) == [.bridgePort])
    }

    @Test("a bond slave, and a team port (another kind of master)")
    func bondAndTeam() throws {
        host.addVirtualInterface("bond0", type: "bond", up: true)
        host.enslave("eth0", to: "bond0", bridgePort: false)
        var found = try uses(Self.nic)
        #expect(found.map(\.kind) == [.bondSlave])
        #expect(found.first?.what == "eth0 is a slave of bond bond0")
        #expect(found.first?.remedy == "ip link set eth0 nomaster")

        let other = try FixtureHost.desktopWithVFIONodes()
        other.addNetworkInterface("eth1", on: Self.nic, up: true)
        other.addVirtualInterface("team0", type: nil, up: true)
        other.enslave("eth1", to: "team0", bridgePort: false)
        let inventory = try InventoryReader(root: other.root, database: nil).read()
        found = InUseDetector(root: other.root).uses(of: [inventory.device(Self.nic)!])
        #expect(found.map(\.what) == ["eth1 is enslaved to team0"])
    }

    @Test("a VLAN that is up makes its lower device in use; one that is down does not")
    func vlan() throws {
        host.addVirtualInterface("eth0.100", type: "vlan", up: true)
        host.stack("eth0", under: "eth0.100")
        host.addVirtualInterface("mv0", type: "macvlan", up: false)
        host.stack("eth0", under: "mv0")
        let found = try uses(Self.nic)
        #expect(found.map(\.kind) == [.upperDevice])
        #expect(found.first?.what == "eth0 carries vlan eth0.100, which is up")
        #expect(found.first?.remedy == "ip link delete eth0.100")
    }

    @Test("the master is not also reported as an upper device")
    func masterNotUpper() throws {
        host.addVirtualInterface("br0", type: "bridge", up: true)
        host.enslave("eth0", to: "br0", bridgePort: true)
        host.addVirtualInterface("eth0.5", type: "vlan", up: true)
        host.stack("eth0", under: "eth0.5")
        #expect(try uses(Self.nic).map(\.kind) == [.bridgePort, .upperDevice])
    }

    @Test("a NIC that is up with no address, master or upper stays free (no false positive)")
    func plainUp() throws {
        #expect(try uses(Self.nic).isEmpty)
        #expect(try bind("05:00.0").exitStatus == .success)
    }
}
