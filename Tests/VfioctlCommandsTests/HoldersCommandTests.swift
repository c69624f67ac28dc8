import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@testable import VfioctlCommands
@testable import VfioctlOutput

private let vf = PCIAddress("0000:07:02.1")!

/// Desktop layout with group 24's nodes (`desktopWithVFIONodes`) and a shell; a QEMU (pid 4242)
/// holding group 24 and 0000:07:02.1 when `qemu` is set.
private func host(qemu: Bool, attributed: Bool = true) throws -> FixtureHost {
    let host = try FixtureHost.desktopWithVFIONodes()
    host.addProcess(100, comm: "bash")
    host.addFD(100, 0, to: "/dev/null")
    if qemu {
        host.addQEMU(4242, group: 24, device: vf, attributed: attributed)
        host.setEnable(vf, 1)
    }
    return host
}

@Suite("holders and wait commands")
struct HoldersCommandTests {
    @Test("holders: the process, its fds and the node, in text; exit 0")
    func holdersText() throws {
        let run = vfioctl(["holders", "07:02.1"], host: try host(qemu: true))
        #expect(run.status == 0)
        #expect(run.stderr.isEmpty)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0000:07:02.1  vfio-pci  group 24  held by pid 4242 (qemu-system-x86)")
        #expect(lines.contains("  device open (enable 1), /dev/vfio/24, /dev/vfio/devices/vfio0"))
        let head = try #require(lines.first { $0.hasPrefix("pid 4242") })
        #expect(head.contains("qemu-system-x86  vm win11  up "))
        #expect(head.hasSuffix("machine-qemu\\x2d1\\x2dwin11.scope"))
        #expect(lines.contains("  /usr/bin/qemu-system-x86_64 -name guest=win11,debug-threads=on -machine q35"))
        #expect(lines.contains("  fd 25    group     /dev/vfio/24"))
        #expect(lines.contains("  fd 27    device    anon_inode:[vfio-device]  0000:07:02.1"))
        #expect(lines.contains("  fd 24    container /dev/vfio/vfio"))
        #expect(!run.stdout.contains("pid 100"))
    }

    @Test("holders --json: schema 1, target state, holder with handles and start time")
    func holdersJSON() throws {
        let run = vfioctl(["holders", "group:24", "--json"], host: try host(qemu: true))
        #expect(run.status == 0)
        let json = try run.json()
        #expect(json["schemaVersion"] as? Int == 1)
        #expect(json["free"] as? Bool == false)
        let targets = try #require(json["targets"] as? [[String: Any]])
        #expect(targets.count == 1)
        #expect(targets[0]["address"] as? String == "0000:07:02.1")
        #expect(targets[0]["state"] as? String == "held")
        #expect(targets[0]["open"] as? Bool == true)
        #expect(targets[0]["groupNode"] as? String == "/dev/vfio/24")
        #expect(targets[0]["holders"] as? [Int] == [4242])
        let holders = try #require(json["holders"] as? [[String: Any]])
        #expect(holders.count == 1)
        #expect(holders[0]["pid"] as? Int == 4242)
        #expect(holders[0]["command"] as? String == "qemu-system-x86")
        #expect(holders[0]["vmName"] as? String == "win11")
        #expect(holders[0]["startedAt"] as? String == "2023-11-14T22:33:54Z")
        let handles = try #require(holders[0]["handles"] as? [[String: Any]])
        let kinds = Set(handles.compactMap { $0["kind"] as? String })
        #expect(kinds == ["group", "device", "container"])
        let device = try #require(handles.first { $0["kind"] as? String == "device" })
        #expect(device["device"] as? String == "0000:07:02.1")
        #expect(device["fd"] as? Int == 27)
        #expect(device.keys.contains("range"))
        #expect((json["likelyHolders"] as? [Any])?.isEmpty == true)
        let scan = try #require(json["scan"] as? [String: Any])
        #expect(scan["processes"] as? Int == 2)
    }

    @Test("holders on a device not bound to VFIO: says nothing can hold it that way, exit 0")
    func holdersNotVFIO() throws {
        let fixture = try host(qemu: true)
        let run = vfioctl(["holders", "05:00.0"], host: fixture)
        #expect(run.status == 0)
        #expect(run.stdout.hasPrefix("0000:05:00.0  igb  group 19  not bound to a VFIO driver: nothing can hold it through VFIO\n"))
        let json = try vfioctl(["holders", "05:00.0", "--json"], host: fixture).json()
        #expect((json["targets"] as? [[String: Any]])?.first?["state"] as? String == "not-vfio")
        #expect(json["free"] as? Bool == true)
    }

    @Test("holders on a group: every member")
    func holdersGroup() throws {
        let json = try vfioctl(["holders", "group:12", "--json"], host: try host(qemu: false)).json()
        let targets = try #require(json["targets"] as? [[String: Any]])
        #expect(targets.compactMap { $0["address"] as? String } == ["0000:00:1f.0", "0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.5"])
        #expect(targets.allSatisfy { $0["state"] as? String == "not-vfio" })
    }

    @Test("before 6.18: open device, anonymous fds, likely holders listed")
    func holdersLikely() throws {
        let fixture = try host(qemu: false)
        fixture.addProcess(5000, comm: "spdk_tgt")
        fixture.addAnonDeviceFD(5000, 9, syspathOf: nil)
        fixture.setEnable(vf, 1)
        let run = vfioctl(["holders", "07:02.1"], host: fixture)
        #expect(run.status == 0)
        #expect(run.stdout.contains("open, but no fd names it: see the likely holders below"))
        #expect(run.stdout.contains("Likely holders"))
        #expect(run.stdout.contains("pid 5000  spdk_tgt"))
        #expect(run.stdout.contains("(device not named by this kernel)"))
    }

    @Test("wait on a free device: exit 0 at once")
    func waitFree() throws {
        let run = vfioctl(["wait", "07:02.1", "05:00.0"], host: try host(qemu: false))
        #expect(run.status == 0)
        #expect(run.stdout == "0000:07:02.1, 0000:05:00.0 are free\n")
        #expect(run.stderr.isEmpty)
    }

    @Test("wait --timeout 0 on a held device: exit 3, one line naming the holder and the node")
    func waitTimesOut() throws {
        let run = vfioctl(["wait", "07:02.1", "--timeout", "0"], host: try host(qemu: true))
        #expect(run.status == 3)
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stderr.hasPrefix("vfioctl: timed out after 0."))
        #expect(run.stderr.contains("0000:07:02.1 is held by pid 4242 (qemu-system-x86) through /dev/vfio/24"))
    }

    @Test("wait --json on a timeout: the document on stdout, exit 3, one line on stderr")
    func waitJSONTimeout() throws {
        let run = vfioctl(["wait", "07:02.1", "--timeout", "200ms", "--json"], host: try host(qemu: true))
        #expect(run.status == 3)
        let json = try run.json()
        #expect(json["schemaVersion"] as? Int == 1)
        #expect(json["free"] as? Bool == false)
        #expect(json["timedOut"] as? Bool == true)
        #expect(json["timeoutSeconds"] as? Double == 0.2)
        #expect((json["waitedSeconds"] as? Double ?? 0) >= 0.2)
        #expect((json["holders"] as? [[String: Any]])?.first?["pid"] as? Int == 4242)
        #expect(run.stderr.split(separator: "\n").count == 1)
    }

    @Test("on a terminal, wait draws who it waits for; otherwise it stays silent")
    func statusLine() throws {
        let fixture = try host(qemu: true)
        let console = Console.capturing(terminal: true)
        let status = Vfioctl.run(
            arguments: ["wait", "07:02.1", "--timeout", "300ms"], console: console, environment: ["VFIOCTL_ROOT": fixture.path],
            services: CommandServices(deviceNumbers: fixture.deviceNumbers))
        #expect(status == 3)
        #expect(console.capturedStatus.first?.hasPrefix("waiting for pid 4242 (qemu-system-x86) holding /dev/vfio/24, 0 s of 0.3 s") == true)
        let quiet = vfioctl(["wait", "07:02.1", "--timeout", "300ms"], host: fixture)
        #expect(quiet.status == 3)
        #expect(quiet.stdout.isEmpty)
    }

    @Test(
        "bad input: one line, documented exit code, nothing printed on stdout",
        arguments: [
            (["holders"], 64),
            (["holders", "bogus"], 64),
            (["holders", "07:02.1", "../x"], 64),
            (["holders", "0000:7f:00.0"], 69),
            (["holders", "group:99"], 69),
            (["wait"], 64),
            (["wait", "07:02.1", "--timeout", "abc"], 64),
            (["wait", "07:02.1", "--timeout=-1"], 64),
            (["wait", "07:02.1", "--timeout", "5d"], 64),
            (["wait", "07:02.1", "--timeout", "200h"], 64),
            (["wait", "07:02.1", "--timeout", ""], 64),
            (["wait", "nope", "--timeout", "1s"], 64),
            (["wait", "0000:7f:00.0"], 69),
        ] as [([String], Int32)])
    func badInput(_ args: [String], _ code: Int32) throws {
        let run = vfioctl(args, host: try host(qemu: true))
        #expect(run.status == code, "\(args): \(run.stderr)")
        #expect(run.stdout.isEmpty)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
    }
}

@Suite("Holder texts")
struct HolderRenderingTests {
    @Test("spans and timestamps")
    func formats() {
        #expect(HolderRendering.span(5) == "5s")
        #expect(HolderRendering.span(192) == "3m12s")
        #expect(HolderRendering.span(7500) == "2h05m")
        #expect(HolderRendering.span(3 * 86400 + 4 * 3600) == "3d04h")
        #expect(HolderRendering.timestamp(0) == "1970-01-01T00:00:00Z")
        #expect(HolderRendering.timestamp(1_700_001_234) == "2023-11-14T22:33:54Z")
        #expect(HolderRendering.preciseSeconds(.milliseconds(1234)) == "1.2 s")
        #expect(HolderRendering.preciseSeconds(.seconds(95)) == "95 s")
    }

    @Test("a hostile command name cannot reach the terminal")
    func hostileNames() {
        #expect(UntrustedText.printable("evil\u{1B}]0;pwned\u{07}", limit: 64) == "evil\\x1b]0;pwned\\x07")
        let p = HolderProcess(pid: 7, handles: [], command: "a\nb")
        #expect(p.printableLabel == "pid 7 (a\\x0ab)")
    }

    @Test("progress line: first holder and node, the others counted; an unattributed open device")
    func progress() {
        let address = PCIAddress("0000:01:00.0")!
        let target = HolderTarget(address: address, driver: "vfio-pci", vfioBound: true, group: 12, enableCount: 1)
        let holders = [
            HolderProcess(
                pid: 4242, handles: [HeldHandle(kind: .container, fd: 3, path: "/dev/vfio/vfio"), HeldHandle(kind: .group, fd: 4, path: "/dev/vfio/12", group: 12)],
                command: "qemu-system-x86"),
            HolderProcess(pid: 4243, handles: [HeldHandle(kind: .group, fd: 4, path: "/dev/vfio/12", group: 12)], command: "helper"),
        ]
        let held = HolderReport(targets: [TargetStatus(target: target, state: .held, holders: [4242, 4243], open: true)], holders: holders, likelyHolders: [], stats: ScanStats())
        #expect(
            HolderRendering.progressLine(WaitProgress(elapsed: .seconds(3), timeout: .seconds(30), report: held))
                == "waiting for pid 4242 (qemu-system-x86) holding /dev/vfio/12 (+1 other), 3 s of 30 s")
        #expect(held.summary == "0000:01:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/12, pid 4243 (helper) through /dev/vfio/12")
        let open = HolderReport(
            targets: [TargetStatus(target: target, state: .openUnattributed, holders: [], open: true)], holders: [],
            likelyHolders: [HolderProcess(pid: 5000, handles: [HeldHandle(kind: .device, fd: 9, path: "anon_inode:[vfio-device]")], command: "spdk_tgt")],
            stats: ScanStats())
        #expect(
            HolderRendering.progressLine(WaitProgress(elapsed: .seconds(1), timeout: .seconds(30), report: open))
                == "waiting for 0000:01:00.0 (open; likely pid 5000 (spdk_tgt)), 1 s of 30 s")
        #expect(open.summary == "0000:01:00.0 is open but no process can be tied to it; likely pid 5000 (spdk_tgt)")
    }
}
