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

@Suite("vfioctl bind --owner")
struct BindOwnerTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() {
        kernel = SimulatedKernel(host: host)
        host.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\ndaemon:x:1:1::/:/bin/false\nnobody:x:65534:65534::/:/bin/false\n")
        host.write("/etc/group", "root:x:0:\nkvm:x:104:\nnogroup:x:65534:\n")
    }

    func run(_ args: [String], uid: UInt32 = 0) -> Run { vfioctl(args, host: host, kernel: kernel, uid: uid) }

    /// `uid:gid mode` of a node in the fixture.
    func node(_ hostPath: String) -> String? {
        var info = stat()
        guard lstat(host.path + hostPath, &info) == 0 else { return nil }
        return "\(info.st_uid):\(info.st_gid) " + String(UInt32(info.st_mode) & 0o7777, radix: 8)
    }

    func records() throws -> [[String: Any]] {
        let text = try #require(host.read("/run/vfioctl/state.json"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return try #require(object["devices"] as? [[String: Any]])
    }

    static let rule = "/run/udev/rules.d/70-vfioctl-0000-05-00.0.rules"

    @Test("bind --owner nobody: the group node and the cdev are nobody's 0600, recorded, kept by a rule; /dev/vfio/vfio is left alone")
    func bindOwner() throws {
        host.write("/dev/vfio/devices/.keep", "")
        let run = run(["bind", "05:00.0", "--owner", "nobody"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(host.driver("05:00.0") == "vfio-pci")
        let cdev = "/dev/vfio/devices/" + (try #require(Sysfs.list(host.path + "/sys/bus/pci/devices/0000:05:00.0/vfio-dev")?.first))
        #expect(node("/dev/vfio/19") == "65534:0 600")
        #expect(node(cdev) == "65534:0 600")
        #expect(!kernel.nodeChanges.contains { $0.path == "/dev/vfio/vfio" })
        #expect(
            kernel.nodeChanges.map { "\($0.change) \($0.path)" } == [
                "chown 65534:0 /dev/vfio/19", "chmod 0600 /dev/vfio/19", "chown 65534:0 \(cdev)", "chmod 0600 \(cdev)",
            ])
        #expect(run.stdout.contains("/dev/vfio/19 belongs to nobody, mode 0600\n"))
        #expect(run.stdout.contains("kept across rebinds by \(Self.rule)\n"))
        let owner = try #require(try records().first?["owner"] as? [String: Any])
        #expect(owner["user"] as? String == "nobody")
        #expect(owner["uid"] as? Int == 65534)
        #expect(owner["group"] is NSNull)
        #expect(host.read(Self.rule)?.contains("devices/0000:05:00.0\", TEST==\"\(Self.rule)\", OWNER=\"65534\", GROUP=\"0\", MODE=\"0600\"") == true)

        // unbind: the rule and the record go; the kernel removed the nodes with the group.
        let unbind = vfioctl(["unbind", "05:00.0"], host: host, kernel: kernel)
        #expect(unbind.status == 0, "\(unbind.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(host.read(Self.rule) == nil)
        #expect(try records().isEmpty)
        #expect(node("/dev/vfio/19") == nil)
    }

    @Test("udevd is told to reload after the rule is written and after it is removed, only where it runs", arguments: [true, false])
    func reloadsUdev(daemonRuns: Bool) throws {
        // systemd-udevd's control socket: the only sign here that the daemon runs.
        if daemonRuns { host.write("/run/udev/control", "") }
        let bind = run(["bind", "05:00.0", "--owner", "nobody"])
        #expect(bind.status == 0, "\(bind.stderr)")
        #expect(kernel.udevReloads == (daemonRuns ? 1 : 0))
        let unbind = run(["unbind", "05:00.0"])
        #expect(unbind.status == 0, "\(unbind.stderr)")
        #expect(host.read(Self.rule) == nil)
        #expect(kernel.udevReloads == (daemonRuns ? 2 : 0))
        #expect(!unbind.stderr.contains("warning"), "\(unbind.stderr)")
        // A bind without --owner writes no rule, so there is nothing to reload.
        let plain = run(["bind", "05:00.0"])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(kernel.udevReloads == (daemonRuns ? 2 : 0))
    }

    @Test("USER:GROUP gives mode 0660 and the group; --json reports the owner, the nodes and the rules")
    func bindOwnerGroup() throws {
        let run = run(["bind", "05:00.0", "--owner", "daemon:kvm", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(node("/dev/vfio/19") == "1:104 660")
        let doc = try run.json()
        let owner = try #require(doc["owner"] as? [String: Any])
        #expect(owner["user"] as? String == "daemon" && owner["group"] as? String == "kvm" && owner["mode"] as? String == "0660")
        #expect(doc["ownedNodes"] as? [String] == ["/dev/vfio/19"])
        #expect(doc["rules"] as? [String] == [Self.rule])
        #expect(doc["changed"] as? Bool == true)
    }

    @Test("--dry-run prints the chown and chmod as shell lines and changes nothing")
    func dryRun() throws {
        let before = host.snapshot()
        let run = run(["bind", "05:00.0", "--owner", "nobody:nogroup", "--dry-run"], uid: 1000)
        #expect(run.status == 0, "\(run.stderr)")
        let p = host.path
        let lines = run.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(Array(lines.suffix(2)) == ["chown 65534:65534 \(p)/dev/vfio/19", "chmod 0660 \(p)/dev/vfio/19"])
        #expect(run.stdout.contains("# then: write \(p)\(Self.rule)"))
        #expect(host.snapshot() == before)
        #expect(kernel.writes.isEmpty && kernel.nodeChanges.isEmpty)
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var owner: String
        var code: Int32
        var message: String
        var testDescription: String { owner }
    }

    @Test(
        "unknown users and groups and root are refused (exit 64) before anything changes",
        arguments: [
            Refusal(owner: "alice", code: 64, message: "unknown user 'alice': not in /etc/passwd"),
            Refusal(owner: "nobody:wheel", code: 64, message: "unknown group 'wheel': not in /etc/group"),
            Refusal(owner: "root", code: 64, message: "--owner root is root, who owns the VFIO nodes already: nothing to do"),
            Refusal(owner: "a:b:c", code: 64, message: "invalid --owner 'a:b:c'"),
        ])
    func refused(_ refusal: Refusal) throws {
        let before = host.snapshot()
        let run = run(["bind", "05:00.0", "--owner", refusal.owner])
        #expect(run.status == refusal.code)
        #expect(run.stderr.contains(refusal.message), "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(host.snapshot() == before)
        #expect(kernel.writes.isEmpty)
    }

    @Test("a group already given to another owner is refused (exit 2), nothing changed")
    func sharedGroup() throws {
        host.detachDriver(try #require(PCIAddress("08:01.0")))
        #expect(run(["bind", "08:00.0", "--owner", "nobody"]).status == 0)
        let writes = kernel.writes.count
        let state = host.read("/run/vfioctl/state.json")
        let other = run(["bind", "08:01.0", "--owner", "daemon"])
        #expect(other.status == 2)
        #expect(other.stderr.contains("group 25 is owned by nobody for 0000:08:00.0, so its node cannot be given to daemon"), "\(other.stderr)")
        #expect(kernel.writes.count == writes)
        #expect(host.read("/run/vfioctl/state.json") == state)
        #expect(node("/dev/vfio/25") == "65534:0 600")
        #expect(host.driver("08:01.0") == nil)
        // The same owner may join.
        #expect(run(["bind", "08:01.0", "--owner", "nobody"]).status == 0)
    }

    @Test("a chown that fails undoes the bind: exit 1, the device back on its driver, no record, no rule")
    func chownFails() throws {
        kernel.failNodeChanges("/dev/vfio/19", errno: .notPermitted)
        let run = run(["bind", "05:00.0", "--owner", "nobody"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("cannot chown /dev/vfio/19 to 65534:0"), "\(run.stderr)")
        #expect(run.stderr.contains("rolled back: 0000:05:00.0 (igb)"))
        #expect(host.driver("05:00.0") == "igb")
        #expect(try records().isEmpty)
        #expect(host.read(Self.rule) == nil)
    }

    @Test("an owner for a device that is already bound: only the nodes change, and the record says so")
    func alreadyBound() throws {
        #expect(run(["bind", "05:00.0"]).status == 0)
        let writes = kernel.writes.count
        let again = run(["bind", "05:00.0", "--owner", "nobody"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(kernel.writes.count == writes)
        #expect(node("/dev/vfio/19") == "65534:0 600")
        #expect((try records().first?["owner"] as? [String: Any])?["user"] as? String == "nobody")
        #expect(host.read(Self.rule) != nil)
    }

    @Test("cycle gives the new nodes to the owner again; restore forgets the owner and removes every rule")
    func cycleAndRestore() throws {
        #expect(run(["bind", "05:00.0", "--owner", "nobody"]).status == 0)
        let cycle = run(["cycle", "05:00.0"])
        #expect(cycle.status == 0, "\(cycle.stderr)")
        #expect(node("/dev/vfio/19") == "65534:0 600")
        let restore = run(["restore"])
        #expect(restore.status == 0, "\(restore.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(Sysfs.list(host.path + "/run/udev/rules.d") == [])
        #expect(try records().isEmpty)
    }

    @Test("show and list --json report the owner and mode of each VFIO node")
    func showAndList() throws {
        #expect(run(["bind", "05:00.0", "--owner", "nobody:kvm"]).status == 0)
        let show = run(["show", "05:00.0"])
        #expect(show.stdout.contains("/dev/vfio/19 (nobody:kvm 0660)"), "\(show.stdout)")
        let shown = try #require(try run(["show", "05:00.0", "--json"]).json()["device"] as? [String: Any])
        let access = try #require(shown["groupNodeAccess"] as? [String: Any])
        #expect(access["uid"] as? Int == 65534 && access["gid"] as? Int == 104 && access["mode"] as? String == "0660")
        #expect(shown["deviceNodeAccess"] is NSNull)
        let list = try run(["list", "--json"]).json()
        let devices = try #require(list["devices"] as? [[String: Any]])
        let listed = try #require(devices.first { $0["address"] as? String == "0000:05:00.0" })
        #expect((listed["groupNodeAccess"] as? [String: Any])?["mode"] as? String == "0660")
        let other = try #require(devices.first { $0["address"] as? String == "0000:01:00.0" })
        #expect(other["groupNodeAccess"] is NSNull)
    }
}
