import Foundation
import SystemPackage
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

/// Runs vfioctl against a fixture with a simulated kernel behind the write seam.
func vfioctl(_ args: [String], host: FixtureHost, kernel: SimulatedKernel, uid: UInt32 = 0) -> Run {
    let console = Console.capturing()
    let services = CommandServices(
        kernel: { _ in kernel.interface }, effectiveUID: uid,
        executorOptions: ExecutorOptions(busyRetries: 1, retryDelay: .zero, verifyTimeout: .zero, pollInterval: .zero),
        deviceNumbers: host.deviceNumbers)
    let status = Vfioctl.run(arguments: args, console: console, environment: ["VFIOCTL_ROOT": host.path], services: services)
    return Run(status: status, stdout: console.captured, stderr: console.capturedErrors)
}

@Suite("vfioctl bind")
struct BindCommandTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() { kernel = SimulatedKernel(host: host) }

    func driver(_ address: String) -> String? { host.driver(address) }

    func state() throws -> [String: Any] {
        let text = try #require(host.read("/run/vfioctl/state.json"))
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test("one device: moved, verified, recorded; the output says so")
    func single() throws {
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "bound 0000:05:00.0 to vfio-pci (was igb)\ngroup 19 is viable: /dev/vfio/19\n")
        #expect(run.stderr.isEmpty)
        #expect(driver("05:00.0") == "vfio-pci")
        let devices = try #require(try state()["devices"] as? [[String: Any]])
        #expect(devices.count == 1)
        #expect(devices[0]["address"] as? String == "0000:05:00.0")
        #expect(devices[0]["originalDriver"] as? String == "igb")
        #expect(devices[0]["originalOverride"] is NSNull)
        #expect(devices[0]["boundDriver"] as? String == "vfio-pci")
        #expect(devices[0]["status"] as? String == "bound")
        #expect(devices[0]["group"] as? Int == 19)
        // The lock was taken and released: the file exists and is free.
        #expect(Sysfs.exists(host.path + "/run/vfioctl/lock"))
        _ = try HostLock.acquire(root: host.root, timeout: .zero)
    }

    @Test("again: already bound, exit 0, no write")
    func idempotent() throws {
        #expect(vfioctl(["bind", "05:00.0"], host: host, kernel: kernel).status == 0)
        let writes = kernel.writes.count
        let stateBefore = host.read("/run/vfioctl/state.json")
        let again = vfioctl(["bind", "0000:05:00.0"], host: host, kernel: kernel)
        #expect(again.status == 0)
        #expect(again.stdout == "0000:05:00.0 is already bound to vfio-pci\n")
        #expect(kernel.writes.count == writes)
        #expect(host.read("/run/vfioctl/state.json") == stateBefore)
        let json = vfioctl(["bind", "05:00.0", "--json"], host: host, kernel: kernel)
        #expect(json.status == 0)
        let doc = try json.json()
        #expect(doc["changed"] as? Bool == false)
        #expect((doc["devices"] as? [[String: Any]])?.first?["reason"] as? String == "already-bound")
    }

    @Test("--dry-run prints the exact writes in order and changes nothing (tree, state, lock)")
    func dryRun() throws {
        let before = host.snapshot()
        let run = vfioctl(["bind", "--group", "08:01.0", "--dry-run"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        let p = host.path
        #expect(
            run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init) == [
                "echo vfio-pci > \(p)/sys/bus/pci/devices/0000:08:00.0/driver_override",
                "echo 0000:08:00.0 > \(p)/sys/bus/pci/drivers/firewire_ohci/unbind",
                "echo 0000:08:00.0 > \(p)/sys/bus/pci/drivers_probe",
                "echo vfio-pci > \(p)/sys/bus/pci/devices/0000:08:01.0/driver_override",
                "echo 0000:08:01.0 > \(p)/sys/bus/pci/drivers/r8169/unbind",
                "echo 0000:08:01.0 > \(p)/sys/bus/pci/drivers_probe",
            ])
        #expect(run.stdout.contains("# verify: \(p)/sys/bus/pci/devices/0000:08:01.0/driver -> vfio-pci"))
        #expect(kernel.writes.isEmpty)
        #expect(host.snapshot() == before)
        // No root needed for a dry run.
        #expect(vfioctl(["bind", "08:01.0", "--group", "--dry-run", "-q"], host: host, kernel: kernel, uid: 1000).status == 0)
    }

    @Test("--dry-run --json: the plan as JSON")
    func dryRunJSON() throws {
        host.detachDriver(PCIAddress("05:00.0")!)
        removeVFIOPCIDriverDirectory()
        let run = vfioctl(["bind", "05:00.0", "--dry-run", "--json"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        let doc = try run.json()
        #expect(doc["schemaVersion"] as? Int == 1)
        #expect(doc["dryRun"] as? Bool == true)
        #expect(doc["changed"] as? Bool == false)
        #expect(doc["loadModule"] as? String == "vfio-pci")
        let steps = try #require(doc["steps"] as? [[String: Any]])
        #expect(steps.map { $0["kind"] as? String } == ["modprobe", "write", "write", "verify"])
        #expect(steps[1]["path"] as? String == "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        #expect(steps[1]["value"] as? String == "vfio-pci\n")
        #expect(steps[2]["path"] as? String == "/sys/bus/pci/drivers_probe")
        #expect(steps[3]["driver"] as? String == "vfio-pci")
        let devices = try #require(doc["devices"] as? [[String: Any]])
        #expect(devices.first?["fromDriver"] is NSNull)
        #expect(kernel.writes.isEmpty && kernel.loads.isEmpty)
    }

    func removeVFIOPCIDriverDirectory() {
        let dir = host.path + "/sys/bus/pci/drivers/vfio-pci"
        for name in Sysfs.list(dir) ?? [] { unlink(dir + "/" + name) }
        rmdir(dir)
    }

    @Test("the driver is loaded first when its directory is missing (simulated modprobe)")
    func loadsModule() throws {
        removeVFIOPCIDriverDirectory()
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(kernel.loads == ["vfio-pci"])
        #expect(driver("05:00.0") == "vfio-pci")
    }

    @Test("modprobe is not run under a root prefix: exit 69, nothing changed")
    func noModprobeUnderRoot() throws {
        removeVFIOPCIDriverDirectory()
        let before = host.snapshot()
        let console = Console.capturing()
        let services = CommandServices(kernel: { root in KernelInterface(writer: kernel, modules: RealModuleLoader(root: root), nodes: kernel) }, effectiveUID: 0)
        let status = Vfioctl.run(arguments: ["bind", "05:00.0"], console: console, environment: ["VFIOCTL_ROOT": host.path], services: services)
        #expect(status == 69)
        #expect(console.capturedErrors.contains("modprobe vfio-pci"))
        #expect(kernel.writes.isEmpty)
        var after = host.snapshot()
        after["/run/vfioctl"] = nil
        after["/run/vfioctl/lock"] = nil
        #expect(after == before)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let args: [String]
        let code: Int32
        let message: String
        var setup: @Sendable (FixtureHost) -> Void = { _ in }
        var testDescription: String { args.joined(separator: " ") }
    }

    static let refusals: [Refusal] = [
        Refusal(
            args: ["08:01.0"], code: 2,
            message:
                "group 25 would not be viable: 0000:08:00.0 stays on host driver firewire_ohci, which uses the DMA API; bind the whole group: vfioctl bind --group 0000:08:01.0"),
        Refusal(args: ["00:1c.0"], code: 2, message: "0000:00:1c.0 is a PCI bridge (header type 1): vfio-pci only binds endpoints (header type 0)"),
        Refusal(args: ["--group", "01:00.0"], code: 2, message: "0000:01:00.0 is in use: it is the boot display (boot_vga=1)"),
        Refusal(args: ["07:00.0"], code: 2, message: "0000:07:00.0 is in use: it is an SR-IOV PF with 2 VFs enabled"),
        Refusal(
            args: ["02:00.0"], code: 2, message: "0000:02:00.0 is in use: nvme0n1p2 is mounted on /home; free it (umount /home) or pass --force",
            setup: { host in
                host.addDisk("nvme0n1", on: PCIAddress("02:00.0")!, subpath: "nvme/nvme0", dev: "259:0", partitions: [("nvme0n1p1", "259:1"), ("nvme0n1p2", "259:2")])
                host.mount(dev: "259:2", source: "/dev/nvme0n1p2", at: "/home")
            }),
        Refusal(
            args: ["02:00.0", "--force"], code: 2, message: "0000:02:00.0 is in use: nvme0n1p1 holds the root filesystem (/)",
            setup: { host in
                host.addDisk("nvme0n1", on: PCIAddress("02:00.0")!, subpath: "nvme/nvme0", dev: "259:0", partitions: [("nvme0n1p1", "259:1")])
                host.mount(dev: "259:1", source: "/dev/nvme0n1p1", at: "/")
            }),
        Refusal(
            args: ["06:00.0"], code: 2, message: "0000:06:00.0 is in use: enp6s0 is up with route 10.0.2.0/24; free it (ip link set enp6s0 down) or pass --force",
            setup: { host in
                host.addNetworkInterface("enp6s0", on: PCIAddress("06:00.0")!, up: true)
                host.addIPv4Route(interface: "enp6s0", destination: (10, 0, 2, 0), prefix: 24)
            }),
        Refusal(args: ["00:08.0"], code: 69, message: "0000:00:08.0 has no IOMMU group"),
        Refusal(args: ["09:00.0"], code: 69, message: "no PCI device 0000:09:00.0"),
        Refusal(args: ["group:77"], code: 69, message: "no IOMMU group 77"),
        Refusal(args: ["05:00.0/../x"], code: 64, message: "invalid target"),
        Refusal(args: ["05:00.0", "--driver", "nouveau"], code: 64, message: "--driver nouveau is not a VFIO driver"),
        Refusal(args: ["05:00.0", "--driver", "../../x"], code: 64, message: "invalid driver name"),
        Refusal(args: [], code: 64, message: "bind needs at least one TARGET"),
        Refusal(args: ["05:00.0", "--lock-timeout=-1"], code: 64, message: "--lock-timeout must be"),
        Refusal(args: ["05:00.0", "--lock-timeout", "nan"], code: 64, message: "--lock-timeout must be"),
    ]

    @Test("every refusal: its exit code, a clear message, and nothing changed", arguments: refusals)
    func refusal(_ c: Refusal) throws {
        c.setup(host)
        let before = host.snapshot()
        let run = vfioctl(["bind"] + c.args, host: host, kernel: kernel)
        #expect(run.status == c.code, "\(run.stderr)")
        #expect(run.stderr.contains(c.message), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(kernel.writes.isEmpty)
        var after = host.snapshot()
        // The lock file may have been created; it holds no state.
        after["/run/vfioctl"] = nil
        after["/run/vfioctl/lock"] = nil
        #expect(after == before)
    }

    @Test("a refusal with --json: the error document lists every reason")
    func refusalJSON() throws {
        let run = vfioctl(["bind", "01:00.0", "--json"], host: host, kernel: kernel)
        #expect(run.status == 2)
        let doc = try run.json()
        let error = try #require(doc["error"] as? [String: Any])
        #expect(error["code"] as? Int == 2)
        #expect(error["kind"] as? String == "refused")
        let reasons = try #require(doc["refusals"] as? [[String: Any]])
        #expect(reasons.map { $0["kind"] as? String } == ["group-not-viable", "in-use"])
        #expect(reasons.map { $0["address"] as? String } == ["0000:01:00.1", "0000:01:00.0"])
        #expect(reasons[0]["driver"] as? String == "snd_hda_intel")
        #expect(reasons[1]["use"] as? String == "boot-vga")
        #expect(reasons[1]["forceable"] as? Bool == true)
    }

    @Test("--group --force moves the GPU and its audio; the root port stays; both recorded")
    func group() throws {
        let run = vfioctl(["bind", "--group", "--force", "01:00.0", "--json"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(driver("01:00.0") == "vfio-pci")
        #expect(driver("01:00.1") == "vfio-pci")
        #expect(driver("00:01.0") == "pcieport")
        let doc = try run.json()
        #expect(doc["changed"] as? Bool == true)
        #expect((doc["forced"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["boot-vga"])
        #expect((doc["groups"] as? [[String: Any]])?.first?["viable"] as? Bool == true)
        let devices = try #require(try state()["devices"] as? [[String: Any]])
        #expect(devices.map { $0["originalDriver"] as? String } == ["nouveau", "snd_hda_intel"])
    }

    @Test("a failure mid-group: exit 1, everything back, the message says what was rolled back, state unchanged")
    func rollback() throws {
        kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        let run = vfioctl(["bind", "--group", "08:01.0"], host: host, kernel: kernel)
        #expect(run.status == 1)
        #expect(run.stderr.contains("rolled back: 0000:08:00.0 (firewire_ohci), 0000:08:01.0 (r8169)"))
        #expect(driver("08:00.0") == "firewire_ohci")
        #expect(driver("08:01.0") == "r8169")
        #expect(try (state()["devices"] as? [Any])?.isEmpty == true)
        let json = vfioctl(["bind", "--group", "08:01.0", "--json"], host: host, kernel: kernel)
        #expect(json.status == 1)
        #expect((try json.json()["error"] as? [String: Any])?["kind"] as? String == "failed")
    }

    @Test("a failed rollback: exit 4, the state file records where the device is")
    func rollbackFailed() throws {
        kernel.inject(.probe(PCIAddress("08:01.0")!, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        // Only the rollback's unbind of 08:00.0 from vfio-pci fails.
        kernel.inject(.write(path: "/sys/bus/pci/drivers/vfio-pci/unbind", value: "0000:08:00.0\n", errno: Errno(rawValue: EIO)))
        let run = vfioctl(["bind", "--group", "08:01.0"], host: host, kernel: kernel)
        #expect(run.status == 4)
        #expect(run.stderr.contains("0000:08:00.0 is left on vfio-pci"))
        #expect(driver("08:01.0") == "r8169")
        let devices = try #require(try state()["devices"] as? [[String: Any]])
        #expect(devices.count == 1)
        #expect(devices[0]["address"] as? String == "0000:08:00.0")
        #expect(devices[0]["status"] as? String == "rollback-failed")
        #expect(devices[0]["currentDriver"] as? String == "vfio-pci")
        #expect(devices[0]["originalDriver"] as? String == "firewire_ohci")
    }

    @Test("the lock: a held lock and --lock-timeout 0 give exit 3 and change nothing")
    func lockTimeout() throws {
        let lock = try HostLock.acquire(root: host.root, timeout: .zero)
        defer { lock.release() }
        let run = vfioctl(["bind", "05:00.0", "--lock-timeout", "0"], host: host, kernel: kernel)
        #expect(run.status == 3)
        #expect(run.stderr.contains("holds /run/vfioctl/lock"))
        #expect(kernel.writes.isEmpty)
        #expect(driver("05:00.0") == "igb")
    }

    @Test("two concurrent binds queue on the lock instead of interleaving their writes")
    func concurrent() throws {
        let lock = try HostLock.acquire(root: host.root, timeout: .zero)
        let host = self.host
        let kernel = self.kernel
        let results = Box<[Int32]>([])
        let guardLock = NSLock()
        var threads: [Thread] = []
        for target in ["05:00.0", "06:00.0"] {
            let thread = Thread {
                let run = vfioctl(["bind", target, "--lock-timeout", "20"], host: host, kernel: kernel)
                guardLock.withLock { results.value.append(run.status) }
            }
            threads.append(thread)
            thread.start()
        }
        usleep(200_000)
        // Both are waiting: nothing written yet.
        #expect(kernel.writes.isEmpty)
        lock.release()
        for _ in 0..<1000 where guardLock.withLock({ results.value.count }) < 2 { usleep(10_000) }
        #expect(guardLock.withLock { results.value } == [0, 0])
        // Each run's writes are contiguous: the three writes of one device, then the other's.
        let devices = kernel.writes.map { write in
            write.path.contains("05:00.0") || write.value.contains("05:00.0") ? "05" : "06"
        }
        #expect(devices.count == 6)
        #expect(devices == Array(repeating: devices[0], count: 3) + Array(repeating: devices[3], count: 3))
        #expect(driver("05:00.0") == "vfio-pci" && driver("06:00.0") == "vfio-pci")
        let state = try StateStore(root: host.root).load()
        #expect(state.devices.map(\.address.description) == ["0000:05:00.0", "0000:06:00.0"])
    }

    @Test("-v shows each write as it is made")
    func verbose() throws {
        let run = vfioctl(["bind", "05:00.0", "-v"], host: host, kernel: kernel)
        #expect(run.status == 0)
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("+ ") }
        #expect(lines.count == 4)
        #expect(lines.first == "+ echo vfio-pci > \(host.path)/sys/bus/pci/devices/0000:05:00.0/driver_override")
    }

    @Test("an SR-IOV PF with a VF on vfio-pci: refused even with --force (its driver's unbind would block while the VF is held)")
    func pfWithVFIOVF() throws {
        let run = vfioctl(["bind", "07:00.0", "--force"], host: host, kernel: kernel)
        #expect(run.status == 2)
        #expect(
            run.stderr.contains(
                "0000:07:00.0 is in use: it is an SR-IOV PF with 2 VFs enabled (0000:07:02.0 on iavf, 0000:07:02.1 on vfio-pci), which depend on it; vfio-pci refuses such a PF, and unbinding its driver would block while a VF is held; stop the VFs' users and give them back first (vfioctl holders 0000:07:02.1; vfioctl unbind 0000:07:02.1), then echo 0 > /sys/bus/pci/devices/0000:07:00.0/sriov_numvfs"
            ))
        #expect(kernel.writes.isEmpty)
        #expect(driver("07:00.0") == "i40e")
        let json = try vfioctl(["bind", "07:00.0", "--json"], host: host, kernel: kernel).json()
        let reasons = try #require(json["refusals"] as? [[String: Any]])
        #expect(reasons.first?["use"] as? String == "virtual-functions")
        #expect(reasons.first?["forceable"] as? Bool == false)
    }

    @Test("an SR-IOV PF whose VFs are on host drivers: --force tries, the kernel refuses, rolled back")
    func pfForced() throws {
        try kernel.write("0000:07:02.1\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind")
        let mark = kernel.writes.count
        let run = vfioctl(["bind", "07:00.0", "--force"], host: host, kernel: kernel)
        #expect(run.status == 1)
        #expect(run.stderr.contains("--force: 0000:07:00.0: ignoring: it is an SR-IOV PF with 2 VFs enabled (0000:07:02.0 on iavf, 0000:07:02.1 on no driver)"))
        #expect(run.stderr.contains("it is an SR-IOV PF with 2 VFs enabled, which vfio-pci refuses; set sriov_numvfs to 0 first"))
        #expect(run.stderr.contains("rolled back: 0000:07:00.0 (i40e)"))
        #expect(kernel.writes.count > mark)
        #expect(driver("07:00.0") == "i40e")
    }

    @Test("an SR-IOV PF without VFs goes to vfio-pci with a note about the VF token (text and JSON)")
    func pfTokenNote() throws {
        host.write("/sys/bus/pci/devices/0000:07:00.0/sriov_numvfs", "0\n")
        let dry = try vfioctl(["bind", "07:00.0", "--dry-run", "--json"], host: host, kernel: kernel).json()
        #expect((dry["notes"] as? [String])?.first?.contains("0000:07:00.0 is an SR-IOV PF (up to 64 VFs): VFs created while it is on vfio-pci need the VF token") == true)
        let run = vfioctl(["bind", "07:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("vfioctl: note: 0000:07:00.0 is an SR-IOV PF (up to 64 VFs)"))
        #expect(driver("07:00.0") == "vfio-pci")
        let other = try vfioctl(["bind", "06:00.0", "--json"], host: host, kernel: kernel).json()
        #expect((other["notes"] as? [String])?.isEmpty == true)
    }

    @Test("no-IOMMU mode: bound with a warning, the noiommu node verified")
    func noiommu() throws {
        host.setNoIOMMU(true)
        let run = vfioctl(["bind", "00:08.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("unsafe no-IOMMU mode"))
        #expect(driver("00:08.0") == "vfio-pci")
    }

    @Test("help lists the command and its options")
    func help() throws {
        let run = vfioctl(["bind", "--help"], host: host, kernel: kernel)
        #expect(run.status == 0)
        for option in ["--group", "--driver", "--force", "--dry-run", "--lock-timeout", "--json"] {
            #expect(run.stdout.contains(option), "\(option)")
        }
    }
}

/// A mutable box for values shared with threads in tests.
final class Box<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

@Suite("bind --json documents match schema/vfioctl.schema.json")
struct BindJSONSchemaTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let args: [String]
        let definition: String
        var failProbe: String? = nil
        var testDescription: String { args.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(args: ["bind", "--group", "08:01.0", "--dry-run", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "05:00.0", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "--group", "--force", "01:00.0", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "07:02.1", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "group:25", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "01:00.0", "--json"], definition: "bindRefusalDocument"),
        Case(args: ["bind", "00:1e.0", "--json"], definition: "bindRefusalDocument"),
        Case(args: ["bind", "00:08.0", "--json"], definition: "errorDocument"),
        Case(args: ["bind", "--group", "08:01.0", "--json"], definition: "errorDocument", failProbe: "08:01.0"),
    ]

    @Test("documents validate", .enabled(if: JSONSchemaTests.validatorAvailable), arguments: cases)
    func validates(_ c: Case) throws {
        let host = FixtureLayout.desktop.build()
        let kernel = SimulatedKernel(host: host)
        if let address = c.failProbe { kernel.inject(.probe(PCIAddress(address)!, driver: "vfio-pci", errno: Errno(rawValue: EIO))) }
        let run = vfioctl(c.args, host: host, kernel: kernel)
        #expect(!run.stdout.isEmpty)
        let file = host.path + "/document.json"
        try run.stdout.write(toFile: file, atomically: false, encoding: .utf8)
        let schema = JSONSchemaTests.repository + "/schema/vfioctl.schema.json"
        let validator = JSONSchemaTests.repository + "/schema/validate.py"
        #expect(try runProcess("/usr/bin/python3", [validator, schema, c.definition, file], allowFailure: true).isEmpty)
        #expect(try runProcess("/usr/bin/python3", [validator, schema, "any", file], allowFailure: true).isEmpty)
    }
}

@Suite("vfioctl bind and driverctl")
struct BindDriverctlTests {
    @Test("a persisted driverctl override that would undo the bind is warned about; one that agrees is not")
    func warns() throws {
        let host = FixtureLayout.desktop.build()
        let kernel = SimulatedKernel(host: host)
        host.write("/etc/driverctl.d/pci-0000:05:00.0", "igb\n")
        host.write("/etc/driverctl.d/pci-0000:06:00.0", "vfio-pci\n")
        let first = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(first.status == 0)
        #expect(first.stderr.contains("warning: 0000:05:00.0 has a driverctl override to igb"))
        let second = vfioctl(["bind", "06:00.0"], host: host, kernel: kernel)
        #expect(second.status == 0)
        #expect(!second.stderr.contains("driverctl"))
    }
}
