import Dispatch
import Synchronization
import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// `bind --wait`: a bind held back only by host processes on the devices' own nodes waits for
/// them (events, bounded), then binds; every other refusal stands at once. And the NVIDIA GPU,
/// whose `/dev/nvidiaN` has no sysfs device and whose driver's remove never returns while a
/// client has it open.
@Suite("Bind: waiting for host holders, and NVIDIA's nodes")
struct BindWaitTests {
    static let nvme = PCIAddress("0000:02:00.0")!
    static let gpu = PCIAddress("0000:01:00.0")!

    let host: FixtureHost
    let kernel: SimulatedKernel

    /// The desktop with an NVMe whose controller node is a stand-in real processes can open.
    /// Only the test's own children are linked into the fixture's /proc.
    init() throws {
        host = try FixtureHost.desktopWithVFIONodes()
        if let btime = Sysfs.read("/proc/stat")?.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }), let seconds = Int64(btime.dropFirst(6)) {
            host.setBootTime(seconds)
        }
        try host.addCharDevice(on: Self.nvme, subpath: "nvme/nvme0", dev: "241:0", devName: "nvme0")
        kernel = SimulatedKernel(host: host)
    }

    func session(_ observer: (@Sendable (SessionEvent) -> Void)? = nil) -> HostSession {
        HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers, observer: observer)
    }

    func bind(_ target: String, wait: Duration?, force: Bool = false, _ observer: (@Sendable (SessionEvent) -> Void)? = nil) throws -> BindOutcome {
        try session(observer).bind(BindRequest(targets: [try Target(parsing: target)], force: force, holderTimeout: wait))
    }

    @Test("the holder exits during the wait: the bind goes through, with the live progress on the way")
    func holderExits() throws {
        let holder = try NodeHolder(holding: host.path + "/dev/nvme0")
        host.linkRealProcess(holder.pid)
        let pid = holder.pid
        let progress = Mutex(0)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { _ = kill(pid, SIGKILL) }
        let outcome = try bind("02:00.0", wait: .seconds(30)) { event in
            if case .waitingForHolders(let p) = event, p.report.holders.map(\.pid) == [pid] { progress.withLock { $0 += 1 } }
        }
        guard case .bound = outcome.result else {
            Issue.record("not bound: \(outcome.result)")
            return
        }
        #expect(outcome.exitStatus == .success)
        #expect(host.driver(of: Self.nvme) == "vfio-pci")
        #expect(progress.withLock { $0 } > 0, "the wait reported who it waited for")
    }

    @Test("the holder stays: exit 3 at the bound, who held it, nothing written")
    func holderStays() throws {
        let holder = try NodeHolder(holding: host.path + "/dev/nvme0")
        host.linkRealProcess(holder.pid)
        let outcome = try bind("02:00.0", wait: .milliseconds(400))
        guard case .gaveUp(let refusal, let report, let waited) = outcome.result else {
            Issue.record("did not give up: \(outcome.result)")
            return
        }
        #expect(outcome.exitStatus == .timedOut)
        #expect(waited >= .milliseconds(400))
        #expect(report?.holders.map(\.pid) == [holder.pid])
        #expect(refusal.reasons.map(\.use?.kind) == [.openDeviceNode])
        #expect(kernel.writes.isEmpty)
        #expect(host.driver(of: Self.nvme) == "nvme")
        #expect(host.read("/run/vfioctl/state.json") == nil)
    }

    @Test("without --wait the same holder is refused at once (exit 2)")
    func noWaitRefuses() throws {
        let holder = try NodeHolder(holding: host.path + "/dev/nvme0")
        host.linkRealProcess(holder.pid)
        let outcome = try bind("02:00.0", wait: nil)
        guard case .refused = outcome.result else {
            Issue.record("not refused: \(outcome.result)")
            return
        }
        #expect(kernel.writes.isEmpty)
    }

    @Test("a mounted namespace as well as a holder: refused at once, --wait cannot clear a mount")
    func mountIsNotWaitedFor() throws {
        host.addDisk("nvme0n1", on: Self.nvme, subpath: "nvme/nvme0", dev: "259:0")
        host.mount(dev: "259:0", source: "/dev/nvme0n1", at: "/srv")
        let holder = try NodeHolder(holding: host.path + "/dev/nvme0")
        host.linkRealProcess(holder.pid)
        let clock = ContinuousClock()
        let started = clock.now
        let outcome = try bind("02:00.0", wait: .seconds(30))
        guard case .refused(let refusal) = outcome.result else {
            Issue.record("not refused: \(outcome.result)")
            return
        }
        #expect(clock.now - started < .seconds(10), "no wait")
        #expect(Set(refusal.reasons.compactMap(\.use?.kind)) == [.mountedFilesystem, .openDeviceNode])
        #expect(refusal.devicesHeldOnlyByProcesses == nil)
        #expect(kernel.writes.isEmpty)
    }

    // MARK: - NVIDIA

    /// The GPU on the nvidia driver, with its information file as the driver writes it and the
    /// node it makes with mknod (no sysfs device).
    func nvidiaGPU(minor: Int = 0) throws {
        host.detachDriver(Self.gpu)
        host.attachDriver(Self.gpu, "nvidia")
        host.write(
            "/proc/driver/nvidia/gpus/0000:01:00.0/information",
            "Model: \t\t NVIDIA GeForce RTX 3080\nIRQ:   \t\t 139\nBus Type: \t PCIe\nBus Location: \t 0000:01:00.0\nDevice Minor: \t \(minor)\nGPU Excluded:\t No\n")
        try host.makeCharNode("/dev/nvidia\(minor)", major: 195, minor: UInt32(minor))
    }

    @Test(
        "Device Minor from the information file",
        arguments: [("Device Minor: \t 3\n", 3), ("Device Minor:0", 0), ("Device Minor: 255\n", nil), ("Minor: 1\n", nil)] as [(String, UInt32?)])
    func nvidiaMinor(text: String, minor: UInt32?) {
        #expect(HostNodeReader.nvidiaMinor(text) == minor)
    }

    @Test("/dev/nvidiaN is found from /proc/driver/nvidia, and its holder is named")
    func nvidiaNodeFound() throws {
        try nvidiaGPU(minor: 1)
        host.addProcess(1500, comm: "nvidia-persiste", cgroup: "0::/system.slice/nvidia-persistenced.service")
        host.addFD(1500, 4, to: "/dev/nvidia1")
        let report = try HolderFinder(root: host.root, options: .init(hostNodes: true), deviceNumbers: host.deviceNumbers).find([Self.gpu])
        #expect(report.targets[0].target.hostNodes.map(\.path) == ["/dev/nvidia1"])
        #expect(report.targets[0].target.hostNodes.first?.number == DeviceNumber(major: 195, minor: 1))
        #expect(report.holders.map(\.pid) == [1500])
    }

    @Test("a client of an NVIDIA GPU: refused even with --force, and the remedy says why")
    func nvidiaNeverForced() throws {
        try nvidiaGPU()
        host.addProcess(1500, comm: "nvidia-persiste", cgroup: "0::/system.slice/nvidia-persistenced.service")
        host.addFD(1500, 4, to: "/dev/nvidia0")
        let outcome = try bind("01:00.0", wait: nil, force: true)
        guard case .refused(let refusal) = outcome.result else {
            Issue.record("not refused: \(outcome.result)")
            return
        }
        let reason = try #require(refusal.reasons.first { $0.use?.kind == .openDeviceNode })
        #expect(reason.use?.forceable == false)
        #expect(reason.message == "0000:01:00.0 is in use: pid 1500 (nvidia-persiste, nvidia-persistenced.service) has /dev/nvidia0 open")
        #expect(reason.remedy.hasPrefix("systemctl stop nvidia-persistenced.service (--force cannot help"))
        #expect(kernel.writes.isEmpty)
        #expect(host.driver(of: Self.gpu) == "nvidia")
    }

    @Test("a host holder of another driver's GPU stays forceable")
    func otherDriverForceable() throws {
        try host.addCharDevice(on: Self.gpu, subpath: "drm/card0", dev: "226:0", devName: "dri/card0")
        host.addProcess(812, comm: "Xorg")
        host.addFD(812, 11, to: "/dev/dri/card0")
        let uses = InUseClassifier.holderUses(
            try HolderFinder(root: host.root, options: .init(hostNodes: true), deviceNumbers: host.deviceNumbers).find([Self.gpu]))
        #expect(uses.map(\.forceable) == [true])
    }
}
