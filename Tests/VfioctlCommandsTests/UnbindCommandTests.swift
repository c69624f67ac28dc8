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

/// The desktop layout with a simulated kernel, a fake /proc (no process holds anything yet) and
/// helpers to make a fake VMM hold a group or a device.
final class ReleaseFixture: @unchecked Sendable {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() {
        kernel = SimulatedKernel(host: host)
        host.setBootTime(1_700_000_000)
        host.addProcess(100, comm: "bash")
    }

    func run(_ args: [String], uid: UInt32 = 0) -> Run { vfioctl(args, host: host, kernel: kernel, uid: uid) }

    func driver(_ address: String) -> String? { host.driver(address) }
    func override(_ address: String) -> String? { Sysfs.read(host.root.device(PCIAddress(address)!) + "/driver_override") }
    func records() throws -> [String] { try StateStore(root: host.root).load().devices.map(\.address.description) }
    func stateText() -> String? { host.read("/run/vfioctl/state.json") }

    /// A QEMU-like process holding group `group`'s node (and the container).
    func holdGroup(_ group: Int, pid: Int32 = 4242) throws {
        try host.addVFIOGroupNode(group)
        host.addProcess(pid, comm: "qemu-system-x86")
        host.addFDLink(pid, 24, text: "/dev/vfio/vfio")
        host.addFD(pid, 25, to: "/dev/vfio/" + String(group))
    }

    /// A process holding only one device's cdev (the iommufd way): its group node is not open.
    func holdDeviceCdev(_ address: String, pid: Int32 = 4343) throws {
        let name = try #require(Sysfs.list(host.root.device(PCIAddress(address)!) + "/vfio-dev")?.first)
        try host.addVFIODeviceNode(name)
        host.addProcess(pid, comm: "cloud-hypervisor")
        host.addFD(pid, 30, to: "/dev/vfio/devices/" + name)
    }

    /// 05:00.0 bound to vfio-pci by vfioctl, then its group 19 held (`holdGroup`).
    /// - Returns: the kernel's write count at that point, to check what comes after.
    @discardableResult
    func bindAndHold(sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        #expect(run(["bind", "05:00.0"]).status == 0, sourceLocation: sourceLocation)
        try holdGroup(19)
        return kernel.writes.count
    }

    func release(_ pid: Int32 = 4242) { host.removeProcess(pid) }

    /// Writes since `mark`.
    func writes(since mark: Int) -> [String] { kernel.writes.dropFirst(mark).map(\.description) }
}

@Suite("vfioctl unbind")
struct UnbindCommandTests {
    let f = ReleaseFixture()
    var p: String { f.host.path }

    @Test("back to the recorded driver: exact writes, verified, record forgotten")
    func recorded() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        let mark = f.kernel.writes.count
        let run = f.run(["unbind", "05:00.0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "released 0000:05:00.0 to igb (was vfio-pci)\n")
        #expect(run.stderr.isEmpty)
        #expect(
            f.writes(since: mark) == [
                "\"\\n\" > /sys/bus/pci/devices/0000:05:00.0/driver_override",
                "\"0000:05:00.0\\n\" > /sys/bus/pci/drivers/vfio-pci/unbind",
                "\"0000:05:00.0\\n\" > /sys/bus/pci/drivers/igb/bind",
            ])
        #expect(f.driver("05:00.0") == "igb")
        #expect(f.override("05:00.0") == "(null)")
        #expect(try f.records().isEmpty)
        // The lock is free again.
        _ = try HostLock.acquire(root: f.host.root, timeout: .zero)
    }

    @Test("again: nothing to do, exit 0, no write")
    func idempotent() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        #expect(f.run(["unbind", "05:00.0"]).status == 0)
        let mark = f.kernel.writes.count
        let again = f.run(["unbind", "05:00.0"])
        #expect(again.status == 0)
        #expect(again.stdout == "0000:05:00.0 is not on a VFIO driver (igb): nothing to do\n")
        #expect(f.kernel.writes.count == mark)
        let json = try f.run(["unbind", "05:00.0", "--json"]).json()
        #expect(json["changed"] as? Bool == false)
        #expect((json["devices"] as? [[String: Any]])?.first?["result"] as? String == "already-released")
    }

    @Test("--to none leaves it unbound; --to DRIVER then binds an unbound device")
    func toNoneThenDriver() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        let mark = f.kernel.writes.count
        let none = f.run(["unbind", "05:00.0", "--to", "none"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(none.stdout == "released 0000:05:00.0: unbound (was vfio-pci)\n")
        #expect(
            f.writes(since: mark) == [
                "\"\\n\" > /sys/bus/pci/devices/0000:05:00.0/driver_override",
                "\"0000:05:00.0\\n\" > /sys/bus/pci/drivers/vfio-pci/unbind",
            ])
        #expect(f.driver("05:00.0") == nil)
        #expect(try f.records().isEmpty)
        #expect(f.run(["unbind", "05:00.0", "--to", "none"]).status == 0)
        let to = f.run(["unbind", "05:00.0", "--to", "igb"])
        #expect(to.status == 0, "\(to.stderr)")
        #expect(f.driver("05:00.0") == "igb")
    }

    @Test("--to another host driver: bound by name instead of the recorded one")
    func toOtherDriver() throws {
        f.host.ensureDriver("e1000e")
        f.kernel.setNaturalDriver("e1000e", for: PCIAddress("05:00.0")!)
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        let run = f.run(["unbind", "05:00.0", "--to", "e1000e"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(f.driver("05:00.0") == "e1000e")
        #expect(f.kernel.writes.last?.path == "/sys/bus/pci/drivers/e1000e/bind")
    }

    @Test("no record: the override is cleared and drivers_probe lets the kernel choose")
    func noRecord() throws {
        f.kernel.setNaturalDriver("iavf", for: PCIAddress("07:02.1")!)
        let run = f.run(["unbind", "07:02.1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "released 0000:07:02.1 to iavf (the kernel's choice; was vfio-pci)\n")
        #expect(
            f.writes(since: 0) == [
                "\"\\n\" > /sys/bus/pci/devices/0000:07:02.1/driver_override",
                "\"0000:07:02.1\\n\" > /sys/bus/pci/drivers/vfio-pci/unbind",
                "\"0000:07:02.1\\n\" > /sys/bus/pci/drivers_probe",
            ])
        #expect(f.driver("07:02.1") == "iavf")
    }

    @Test("held: --timeout expires with exit 3, the holder named, nothing written, the record kept")
    func timeout() throws {
        let mark = try f.bindAndHold()
        let state = f.stateText()
        let run = f.run(["unbind", "05:00.0", "--timeout", "300ms"])
        #expect(run.status == 3)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("vfioctl: timed out after 0."))
        #expect(run.stderr.contains("0000:05:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/19"))
        #expect(run.stderr.hasSuffix("nothing was changed\n"))
        #expect(f.kernel.writes.count == mark)
        #expect(f.driver("05:00.0") == "vfio-pci")
        #expect(f.stateText() == state)
    }

    @Test("held with --no-wait: exit 3 at once, holders named, nothing written")
    func noWait() throws {
        let mark = try f.bindAndHold()
        let run = f.run(["unbind", "05:00.0", "--no-wait", "--timeout", "1h"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("in use (--no-wait): 0000:05:00.0 is held by pid 4242 (qemu-system-x86)"))
        #expect(f.kernel.writes.count == mark)
    }

    @Test("held: waits, and completes once the holder is gone; no write while it held")
    func waitsThenCompletes() throws {
        try f.bindAndHold()
        let host = f.host
        let heldDuringWrite = Box(false)
        let guardLock = NSLock()
        f.kernel.onWrite { _ in
            if Sysfs.exists(host.path + "/proc/4242") { guardLock.withLock { heldDuringWrite.value = true } }
        }
        let mark = f.kernel.writes.count
        let result = Box<Run?>(nil)
        let fixture = f
        let thread = Thread {
            let run = fixture.run(["unbind", "05:00.0", "--timeout", "30s"])
            guardLock.withLock { result.value = run }
        }
        thread.start()
        usleep(400_000)
        #expect(guardLock.withLock { result.value } == nil, "unbind returned while the group was held")
        #expect(f.kernel.writes.count == mark)
        f.release()
        for _ in 0..<2000 where guardLock.withLock({ result.value }) == nil { usleep(10_000) }
        let run = try #require(guardLock.withLock { result.value })
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("released 0000:05:00.0 to igb (was vfio-pci)"))
        #expect(guardLock.withLock { heldDuringWrite.value } == false)
        #expect(f.driver("05:00.0") == "igb")
        #expect(try f.records().isEmpty)
    }

    @Test("on a terminal the wait draws who it waits for")
    func statusLine() throws {
        try f.bindAndHold()
        let console = Console.capturing(terminal: true)
        let services = CommandServices(kernel: { [kernel = f.kernel] _ in kernel.interface }, effectiveUID: 0, deviceNumbers: f.host.deviceNumbers)
        let status = Vfioctl.run(
            arguments: ["unbind", "05:00.0", "--timeout", "300ms"], console: console, environment: ["VFIOCTL_ROOT": f.host.path], services: services)
        #expect(status == 3, "\(console.capturedErrors)")
        #expect(console.capturedStatus.first?.hasPrefix("waiting for pid 4242 (qemu-system-x86) holding /dev/vfio/19, 0 s of 0.3 s") == true, "\(console.capturedStatus)")
    }

    @Test("EBUSY from the host driver's bind (the group's release still running) is retried")
    func busyRetry() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        f.kernel.inject(.write(path: "/sys/bus/pci/drivers/igb/bind", errno: Errno(rawValue: EBUSY)), times: 1)
        let run = f.run(["unbind", "05:00.0", "-v"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("drivers/igb/bind: EBUSY, retrying (1)"))
        let binds = f.kernel.writes.filter { $0.path == "/sys/bus/pci/drivers/igb/bind" }
        #expect(binds.map(\.errno) == [Errno(rawValue: EBUSY), nil])
        #expect(f.driver("05:00.0") == "igb")
    }

    @Test("the host driver's probe fails: exit 1, back on vfio-pci, the record kept")
    func rollback() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        f.kernel.inject(.probe(PCIAddress("05:00.0")!, driver: "igb", errno: Errno(rawValue: EIO)))
        let state = f.stateText()
        let run = f.run(["unbind", "05:00.0"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("unbind failed: "))
        #expect(run.stderr.contains("rolled back: 0000:05:00.0 (vfio-pci)"))
        #expect(f.driver("05:00.0") == "vfio-pci")
        #expect(f.override("05:00.0") == "vfio-pci")
        #expect(f.stateText() == state)
    }

    @Test("--dry-run prints the exact writes and changes nothing; no root needed")
    func dryRun() throws {
        try f.bindAndHold()
        let before = f.host.snapshot()
        let mark = f.kernel.writes.count
        let run = f.run(["unbind", "05:00.0", "--dry-run"], uid: 1000)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init) == [
                "echo > \(p)/sys/bus/pci/devices/0000:05:00.0/driver_override",
                "echo 0000:05:00.0 > \(p)/sys/bus/pci/drivers/vfio-pci/unbind",
                "echo 0000:05:00.0 > \(p)/sys/bus/pci/drivers/igb/bind",
            ])
        #expect(run.stdout.contains("# now: 0000:05:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/19"))
        #expect(run.stdout.contains("# verify: \(p)/sys/bus/pci/devices/0000:05:00.0/driver -> igb"))
        #expect(f.kernel.writes.count == mark)
        #expect(f.host.snapshot() == before)
        let json = try f.run(["unbind", "05:00.0", "--dry-run", "--json"]).json()
        #expect(json["dryRun"] as? Bool == true)
        #expect((json["steps"] as? [[String: Any]])?.map { $0["kind"] as? String } == ["write", "write", "write", "verify"])
        #expect((json["devices"] as? [[String: Any]])?.first?["result"] as? String == "planned")
    }

    @Test("--json on a timeout: the document says timed-out and names the holder; exit 3")
    func jsonTimeout() throws {
        try f.bindAndHold()
        let run = f.run(["unbind", "05:00.0", "--timeout", "200ms", "--json"])
        #expect(run.status == 3)
        let json = try run.json()
        #expect(json["timedOut"] as? Bool == true)
        #expect(json["changed"] as? Bool == false)
        #expect((json["devices"] as? [[String: Any]])?.first?["result"] as? String == "timed-out")
        #expect((json["holders"] as? [[String: Any]])?.first?["pid"] as? Int == 4242)
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    // MARK: Group rule

    @Test("one member of a shared group: waits for a held peer, times out naming it, nothing written")
    func groupPeerHeld() throws {
        #expect(f.run(["bind", "--group", "08:01.0"]).status == 0)
        try f.holdDeviceCdev("08:00.0")
        let mark = f.kernel.writes.count
        let run = f.run(["unbind", "08:01.0", "--timeout", "300ms"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("0000:08:00.0 is held by pid 4343 (cloud-hypervisor) through /dev/vfio/devices/vfio"))
        #expect(run.stderr.contains("0000:08:00.0 shares an IOMMU group with the devices to release"))
        #expect(f.kernel.writes.count == mark)
        #expect(f.driver("08:01.0") == "vfio-pci")
        // Leaving it unbound does not need the peer to be free.
        let none = f.run(["unbind", "08:01.0", "--to", "none", "--no-wait"])
        #expect(none.status == 0, "\(none.stderr)")
        #expect(f.driver("08:01.0") == nil)
        #expect(f.driver("08:00.0") == "vfio-pci")
    }

    @Test("one member of a free shared group: released, with a warning that the group is no longer viable")
    func groupWarning() throws {
        #expect(f.run(["bind", "--group", "08:01.0"]).status == 0)
        let run = f.run(["unbind", "08:01.0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("warning: group 25 will not be viable for VFIO: 0000:08:01.0 goes to r8169 while 0000:08:00.0 stays on vfio-pci"))
        #expect(f.driver("08:01.0") == "r8169")
        let json = try f.run(["unbind", "08:00.0", "--json", "--dry-run"]).json()
        #expect((json["warnings"] as? [String])?.isEmpty == true)
    }

    @Test("--group: every VFIO member of the group, once the whole group is free")
    func wholeGroup() throws {
        #expect(f.run(["bind", "--group", "08:01.0"]).status == 0)
        try f.holdGroup(25)
        #expect(f.run(["unbind", "--group", "08:01.0", "--timeout", "200ms"]).status == 3)
        f.release()
        let run = f.run(["unbind", "--group", "08:01.0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "released 0000:08:00.0 to firewire_ohci (was vfio-pci)\nreleased 0000:08:01.0 to r8169 (was vfio-pci)\n")
        #expect(run.stderr.isEmpty)
        #expect(f.driver("08:00.0") == "firewire_ohci" && f.driver("08:01.0") == "r8169")
        #expect(try f.records().isEmpty)
        // group:N names the same devices; they are all back now.
        #expect(f.run(["unbind", "group:25"]).status == 0)
    }

    // MARK: SR-IOV

    /// 07:00.0 on vfio-pci with its two VFs enabled (vfio-pci with enable_sriov=1 made them).
    func pfOnVFIO() throws {
        f.host.write("/sys/bus/pci/devices/0000:07:00.0/sriov_numvfs", "0\n")
        #expect(f.run(["bind", "07:00.0"]).status == 0)
        f.host.write("/sys/bus/pci/devices/0000:07:00.0/sriov_numvfs", "2\n")
    }

    @Test("a PF whose VF is held: refused (exit 2), nothing written")
    func pfWithHeldVF() throws {
        try pfOnVFIO()
        try f.holdGroup(24)
        let mark = f.kernel.writes.count
        let run = f.run(["unbind", "07:00.0", "--timeout", "5s"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("0000:07:00.0 is an SR-IOV PF whose VFs are in use (0000:07:02.1 is held by pid 4242 (qemu-system-x86)"))
        #expect(run.stderr.contains("nothing was changed"))
        #expect(f.kernel.writes.count == mark)
        let json = f.run(["unbind", "07:00.0", "--json"])
        #expect(json.status == 2)
        #expect((try json.json()["refusals"] as? [[String: Any]])?.first?["kind"] as? String == "virtual-functions")
        // cycle refuses such a PF whatever holds it.
        f.release()
        let cycle = f.run(["cycle", "07:00.0"])
        #expect(cycle.status == 2)
        #expect(cycle.stderr.contains("SR-IOV PF with 2 VFs enabled: unbinding it from vfio-pci would remove them"))
    }

    @Test("a PF whose VFs are free: released with a warning that its VFs go away")
    func pfWithFreeVFs() throws {
        try pfOnVFIO()
        let run = f.run(["unbind", "07:00.0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("SR-IOV PF with 2 VFs enabled (0000:07:02.0, 0000:07:02.1): unbinding it from vfio-pci removes them"))
        #expect(f.driver("07:00.0") == "i40e")
    }

    // MARK: Bad input

    struct Refusal: Sendable, CustomTestStringConvertible {
        let args: [String]
        let code: Int32
        let message: String
        var testDescription: String { args.joined(separator: " ") }
    }

    static let refusals: [Refusal] = [
        Refusal(args: ["unbind"], code: 64, message: "unbind needs at least one TARGET"),
        Refusal(args: ["unbind", "bogus"], code: 64, message: "invalid target"),
        Refusal(args: ["unbind", "05:00.0/../x"], code: 64, message: "invalid target"),
        Refusal(args: ["unbind", "05:00.0", "--to", "../x"], code: 64, message: "invalid driver name '../x' for --to"),
        Refusal(args: ["unbind", "05:00.0", "--to", "vfio-pci"], code: 64, message: "--to vfio-pci is a VFIO driver"),
        Refusal(args: ["unbind", "05:00.0", "--timeout", "abc"], code: 64, message: "invalid --timeout"),
        Refusal(args: ["unbind", "05:00.0", "--lock-timeout=-1"], code: 64, message: "--lock-timeout must be"),
        Refusal(args: ["unbind", "09:00.0"], code: 69, message: "no PCI device 0000:09:00.0"),
        Refusal(args: ["unbind", "group:77"], code: 69, message: "no IOMMU group 77"),
        Refusal(args: ["unbind", "07:02.1", "--to", "e1000e"], code: 69, message: "driver e1000e is not loaded"),
        Refusal(args: ["unbind", "05:00.0", "--to", "pci-stub"], code: 2, message: "0000:05:00.0 is on host driver igb, not on a VFIO driver"),
        Refusal(args: ["unbind", "05:00.0", "--to", "none"], code: 2, message: "0000:05:00.0 is on host driver igb"),
        Refusal(args: ["cycle"], code: 64, message: "cycle needs at least one TARGET"),
        Refusal(args: ["cycle", "05:00.0"], code: 2, message: "0000:05:00.0 is not on a VFIO driver (igb): there is nothing to cycle"),
        Refusal(args: ["restore", "--timeout=-1"], code: 64, message: "invalid --timeout"),
    ]

    @Test("every refusal: its exit code, one clear line (plus 'nothing was changed'), and nothing changed", arguments: refusals)
    func refusal(_ c: Refusal) throws {
        let before = f.host.snapshot()
        let run = f.run(c.args)
        #expect(run.status == c.code, "\(run.stderr)")
        #expect(run.stderr.contains(c.message), "\(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(f.kernel.writes.isEmpty)
        let lines = run.stderr.split(separator: "\n").filter { $0 != "vfioctl: nothing was changed" }
        // ArgumentParser's own option checks (--lock-timeout, shared with bind) add usage lines.
        #expect(lines.count == 1 || lines.dropFirst().first?.hasPrefix("Usage:") == true, "\(run.stderr)")
        #expect(lines.first?.contains(c.message) == true, "\(run.stderr)")
        var after = f.host.snapshot()
        after["/run/vfioctl"] = nil
        after["/run/vfioctl/lock"] = nil
        #expect(after == before)
    }

    @Test("not root on the real host: exit 77 before anything else")
    func notRoot() throws {
        let console = Console.capturing()
        let services = CommandServices(kernel: { [kernel = f.kernel] _ in kernel.interface }, effectiveUID: 1000)
        for command in [["unbind", "05:00.0"], ["restore"], ["cycle", "05:00.0"]] {
            let status = Vfioctl.run(arguments: command + ["--root", "/"], console: console, environment: [:], services: services)
            #expect(status == 77, "\(command)")
        }
        #expect(f.kernel.writes.isEmpty)
    }
}

@Suite("vfioctl restore")
struct RestoreCommandTests {
    let f = ReleaseFixture()

    @Test("several devices: each back on its original driver, the state file empty")
    func several() throws {
        #expect(f.run(["bind", "05:00.0", "06:00.0"]).status == 0)
        #expect(f.run(["bind", "--group", "08:01.0"]).status == 0)
        #expect(try f.records().count == 4)
        let run = f.run(["restore"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            run.stdout == """
                restored 0000:05:00.0 to igb (was vfio-pci)
                restored 0000:06:00.0 to igb (was vfio-pci)
                restored 0000:08:00.0 to firewire_ohci (was vfio-pci)
                restored 0000:08:01.0 to r8169 (was vfio-pci)

                """)
        #expect(f.driver("05:00.0") == "igb" && f.driver("06:00.0") == "igb")
        #expect(f.driver("08:00.0") == "firewire_ohci" && f.driver("08:01.0") == "r8169")
        #expect(try f.records().isEmpty)
        let again = f.run(["restore"])
        #expect(again.status == 0)
        #expect(again.stdout == "nothing to restore: /run/vfioctl/state.json records no device\n")
    }

    @Test("one group held past the timeout: the others restored, that one reported, exit 3, its record kept")
    func partial() throws {
        #expect(f.run(["bind", "05:00.0", "06:00.0"]).status == 0)
        try f.holdGroup(19)
        let run = f.run(["restore", "--timeout", "300ms", "--json"])
        #expect(run.status == 3)
        let json = try run.json()
        let results = (json["devices"] as? [[String: Any]] ?? []).map { ($0["address"] as? String ?? "", $0["result"] as? String ?? "") }
        #expect(results.map(\.0) == ["0000:05:00.0", "0000:06:00.0"])
        #expect(results.map(\.1) == ["timed-out", "restored"])
        #expect(json["changed"] as? Bool == true)
        #expect(f.driver("05:00.0") == "vfio-pci" && f.driver("06:00.0") == "igb")
        #expect(try f.records() == ["0000:05:00.0"])
        #expect(run.stderr.contains("0000:05:00.0 is held by pid 4242"))
        let text = f.run(["restore", "--timeout", "0"])
        #expect(text.status == 3)
        #expect(text.stderr.contains("waiting for holders: 0000:05:00.0 is held by pid 4242"))
    }

    @Test("records of devices already back, or gone, are dropped; an unbound recorded device gets its driver")
    func staleRecords() throws {
        #expect(f.run(["bind", "05:00.0", "06:00.0"]).status == 0)
        // Given back behind vfioctl's back; and 06:00.0 left unbound (an interrupted unbind).
        _ = try? f.kernel.write("\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        _ = try? f.kernel.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind")
        _ = try? f.kernel.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/bind")
        _ = try? f.kernel.write("0000:06:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind")
        var state = try StateStore(root: f.host.root).load()
        state.upsert(
            DeviceRecord(
                address: PCIAddress("0000:0a:00.0")!, group: 40, originalDriver: "nvme", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: FixtureClock.time))
        try StateStore(root: f.host.root).save(state)
        let run = f.run(["restore"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("restored 0000:06:00.0 to igb (was unbound)"))
        #expect(run.stdout.contains("0000:05:00.0 is on igb, where it was before vfioctl moved it"))
        #expect(run.stdout.contains("0000:0a:00.0 is no longer on the bus; its record is dropped"))
        #expect(f.driver("06:00.0") == "igb")
        #expect(try f.records().isEmpty)
    }

    @Test("--dry-run: the writes for every recorded device, nothing changed")
    func dryRun() throws {
        #expect(f.run(["bind", "05:00.0", "06:00.0"]).status == 0)
        let before = f.host.snapshot()
        let mark = f.kernel.writes.count
        let run = f.run(["restore", "--dry-run"])
        #expect(run.status == 0)
        #expect(run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.count == 6)
        #expect(f.kernel.writes.count == mark)
        #expect(f.host.snapshot() == before)
    }
}

@Suite("vfioctl cycle")
struct CycleCommandTests {
    let f = ReleaseFixture()

    @Test("a free device: unbound and probed again on vfio-pci; the record is byte-for-byte unchanged")
    func cycle() throws {
        #expect(f.run(["bind", "05:00.0"]).status == 0)
        let state = f.stateText()
        let mark = f.kernel.writes.count
        let run = f.run(["cycle", "05:00.0"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "cycled 0000:05:00.0 on vfio-pci\n")
        #expect(
            f.writes(since: mark) == [
                "\"0000:05:00.0\\n\" > /sys/bus/pci/drivers/vfio-pci/unbind",
                "\"0000:05:00.0\\n\" > /sys/bus/pci/drivers_probe",
            ])
        #expect(f.driver("05:00.0") == "vfio-pci")
        #expect(f.stateText() == state)
        // unbind afterwards still goes back to the original driver.
        #expect(f.run(["unbind", "05:00.0"]).status == 0)
        #expect(f.driver("05:00.0") == "igb")
    }

    @Test("a device bound without an override gets one for the probe")
    func withoutOverride() throws {
        _ = try? f.kernel.write("\n", to: "/sys/bus/pci/devices/0000:07:02.1/driver_override")
        let run = f.run(["cycle", "07:02.1"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(f.writes(since: 1).first == "\"vfio-pci\\n\" > /sys/bus/pci/devices/0000:07:02.1/driver_override")
        #expect(f.driver("07:02.1") == "vfio-pci")
    }

    @Test("held: exit 3, nothing written")
    func held() throws {
        let mark = try f.bindAndHold()
        let run = f.run(["cycle", "05:00.0", "--timeout", "200ms"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("held by pid 4242"))
        #expect(f.kernel.writes.count == mark)
        #expect(f.run(["cycle", "05:00.0", "--no-wait"]).status == 3)
    }
}

@Suite("unbind, restore and cycle --json documents match schema/vfioctl.schema.json")
struct ReleaseJSONSchemaTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let args: [String]
        let definition: String
        var bind: [String]? = ["bind", "05:00.0", "06:00.0"]
        var hold: Int? = nil
        var testDescription: String { args.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(args: ["unbind", "05:00.0", "--json"], definition: "releaseDocument"),
        Case(args: ["unbind", "05:00.0", "--json", "--dry-run"], definition: "releaseDocument"),
        Case(args: ["unbind", "07:02.1", "--json"], definition: "releaseDocument", bind: nil),
        Case(args: ["unbind", "05:00.0", "--json", "--timeout", "100ms"], definition: "releaseDocument", hold: 19),
        Case(args: ["unbind", "00:1f.3", "--json"], definition: "releaseDocument"),
        Case(args: ["unbind", "05:00.0", "--to", "none", "--json"], definition: "releaseDocument"),
        Case(args: ["restore", "--json"], definition: "releaseDocument"),
        Case(args: ["restore", "--json", "--timeout", "100ms"], definition: "releaseDocument", hold: 19),
        Case(args: ["restore", "--json"], definition: "releaseDocument", bind: nil),
        Case(args: ["cycle", "05:00.0", "--json"], definition: "releaseDocument"),
        Case(args: ["cycle", "00:1f.3", "--json"], definition: "releaseRefusalDocument"),
        Case(args: ["unbind", "00:1f.3", "--to", "none", "--json"], definition: "releaseRefusalDocument"),
        Case(args: ["unbind", "09:00.0", "--json"], definition: "errorDocument"),
    ]

    @Test("documents validate", .enabled(if: JSONSchemaTests.validatorAvailable), arguments: cases)
    func validates(_ c: Case) throws {
        let f = ReleaseFixture()
        if let bind = c.bind { #expect(f.run(bind).status == 0) }
        if let group = c.hold { try f.holdGroup(group) }
        let run = f.run(c.args)
        #expect(!run.stdout.isEmpty)
        let file = f.host.path + "/document.json"
        try run.stdout.write(toFile: file, atomically: false, encoding: .utf8)
        let schema = JSONSchemaTests.repository + "/schema/vfioctl.schema.json"
        let validator = JSONSchemaTests.repository + "/schema/validate.py"
        #expect(try runProcess("/usr/bin/python3", [validator, schema, c.definition, file], allowFailure: true).isEmpty)
        #expect(try runProcess("/usr/bin/python3", [validator, schema, "any", file], allowFailure: true).isEmpty)
    }
}
