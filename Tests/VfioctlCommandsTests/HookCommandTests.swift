import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

/// `vfioctl hook` on the desktop layout: 05:00.0 (igb, group 19), 06:00.0 (igb, group 20), and
/// 08:00.0 (firewire_ohci) with 08:01.0 (r8169) behind a PCI bridge (group 25).
@Suite("vfioctl hook")
struct HookCommandTests {
    let f = ReleaseFixture()

    static func hostdev(_ bus: String, _ slot: String, _ function: String = "0x0", managed: String? = "no") -> String {
        let m = managed.map { " managed='\($0)'" } ?? ""
        return "<hostdev mode='subsystem' type='pci'\(m)><source><address domain='0x0000' bus='\(bus)' slot='\(slot)' function='\(function)'/></source></hostdev>"
    }

    func xml(_ devices: String...) -> String {
        let path = f.host.path + "/domain.xml"
        f.host.write("/domain.xml", "<domain type='kvm'><name>win11</name><devices>" + devices.joined() + "</devices></domain>\n")
        return path
    }

    func domains() throws -> [String: String] {
        Dictionary(uniqueKeysWithValues: try StateStore(root: f.host.root).load().domains.map { ($0.key.description, $0.value) })
    }

    @Test("prepare begin binds managed='no' hostdevs with their groups, records the domain; release end gives them back")
    func prepareAndRelease() throws {
        let file = xml(Self.hostdev("0x05", "0x00"), Self.hostdev("0x08", "0x01"), Self.hostdev("0x06", "0x00", managed: nil))
        let prepare = f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", file])
        #expect(prepare.status == 0, "\(prepare.stderr)")
        #expect(prepare.stdout.isEmpty)
        // No /dev/log in the fixture: the log lines go to standard error.
        #expect(prepare.stderr.contains("vfioctl: libvirt domain win11 prepare begin: bound 0000:05:00.0 to vfio-pci (was igb)"))
        #expect(prepare.stderr.contains("bound 0000:08:00.0 to vfio-pci (was firewire_ohci; moved with its group)"))
        #expect(f.driver("05:00.0") == "vfio-pci" && f.driver("08:00.0") == "vfio-pci" && f.driver("08:01.0") == "vfio-pci")
        #expect(f.driver("06:00.0") == "igb", "managed by libvirt: left alone")
        #expect(try domains() == ["0000:05:00.0": "win11", "0000:08:00.0": "win11", "0000:08:01.0": "win11"])

        let show = f.run(["show", "08:01.0"])
        #expect(show.stdout.contains("  Bound for:         domain win11\n"), "\(show.stdout)")
        let showJSON = try f.run(["show", "08:01.0", "--json"]).json()
        #expect(showJSON["boundForDomain"] as? String == "win11")
        #expect(f.run(["holders", "05:00.0"]).stdout.contains("0000:05:00.0 is bound for domain win11\n"))

        // Other operations: nothing, quietly.
        for (op, sub) in [("start", "begin"), ("started", "begin"), ("stopped", "end"), ("migrate", "begin"), ("reconnect", "begin")] {
            let run = f.run(["hook", "libvirt", "win11", op, sub, "-"])
            #expect(run.status == 0 && run.stdout.isEmpty && run.stderr.isEmpty, "\(op) \(sub): \(run.stderr)")
        }

        let release = f.run(["hook", "libvirt", "win11", "release", "end", "-"])
        #expect(release.status == 0, "\(release.stderr)")
        #expect(release.stderr.contains("libvirt domain win11 release end: restored 0000:08:01.0 to r8169 (was vfio-pci)"))
        #expect(f.driver("05:00.0") == "igb" && f.driver("08:00.0") == "firewire_ohci" && f.driver("08:01.0") == "r8169")
        #expect(try f.records().isEmpty)
        // A second release (libvirt also calls it after a failed start) has nothing to do.
        let again = f.run(["hook", "libvirt", "win11", "release", "end", "-"])
        #expect(again.status == 0 && again.stderr.isEmpty)
    }

    @Test("a hook logs the outcome's warnings as warnings, taken from its list, not found in its text")
    func warningsBySeverity() throws {
        let session = HostSession(root: f.host.root, kernel: f.kernel.interface, effectiveUID: 0, lockTimeout: .zero, deviceNumbers: f.host.deviceNumbers)
        guard case .prepared(var bind) = try session.prepareVM("win11", devices: [PCIAddress("0000:05:00.0")!]), case .bound(let plan, var report) = bind.result
        else {
            Issue.record("prepare did not bind")
            return
        }
        report.warnings = ["the devices are bound, but /run/vfioctl/state.json could not be updated: disk full"]
        bind.result = .bound(plan, report)
        let lines = HookRendering.lines(.prepared(bind))
        #expect(lines.warnings == report.warnings)
        #expect(lines.info.contains("bound 0000:05:00.0 to vfio-pci (was igb)"), "\(lines.info)")
        #expect(!lines.info.contains { $0.contains("could not be updated") })
        #expect(lines.errors.isEmpty)
    }

    @Test("devices = all in [hooks] binds managed hostdevs too; a device already on vfio-pci is not taken over")
    func allScope() throws {
        f.host.write("/etc/vfioctl.conf", "[hooks]\ndevices = all\n")
        #expect(f.run(["bind", "06:00.0"]).status == 0)
        let file = xml(Self.hostdev("0x05", "0x00", managed: "yes"), Self.hostdev("0x06", "0x00", managed: nil))
        let run = f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", file])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try domains() == ["0000:05:00.0": "win11"])
        #expect(f.run(["hook", "libvirt", "win11", "release", "end", "-"]).status == 0)
        #expect(f.driver("05:00.0") == "igb")
        #expect(f.driver("06:00.0") == "vfio-pci", "bound by hand: stays")
    }

    @Test("release end waits for QEMU at most the bound, then leaves everything as it is (exit 3, one line)")
    func releaseTimesOut() throws {
        let file = xml(Self.hostdev("0x05", "0x00"))
        #expect(f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", file]).status == 0)
        try f.holdGroup(19)
        let mark = f.kernel.writes.count
        let run = f.run(["hook", "libvirt", "win11", "release", "end", "-", "--timeout", "300ms"])
        #expect(run.status == 3)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("vfioctl: libvirt domain win11 release end: timed out after 0."))
        #expect(run.stderr.contains("0000:05:00.0 is held by pid 4242 (qemu-system-x86)"), "\(run.stderr)")
        #expect(f.writes(since: mark).isEmpty)
        #expect(f.driver("05:00.0") == "vfio-pci")
        #expect(try f.records() == ["0000:05:00.0"])
        // The configured bound applies the same way.
        f.host.write("/etc/vfioctl.conf", "[hooks]\ntimeout = 200ms\n")
        #expect(f.run(["hook", "libvirt", "win11", "release", "end", "-"]).status == 3)
        f.release()
        #expect(f.run(["hook", "libvirt", "win11", "release", "end", "-"]).status == 0)
        #expect(f.driver("05:00.0") == "igb")
    }

    @Test("a prepare the bind refuses fails the start with one line and changes nothing")
    func prepareRefused() throws {
        // The GPU drives the console: the in-use check refuses the whole prepare.
        let file = xml(Self.hostdev("0x05", "0x00"), Self.hostdev("0x01", "0x00"))
        let mark = f.kernel.writes.count
        let run = f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", file])
        #expect(run.status == 2, "\(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.hasPrefix("vfioctl: libvirt domain win11 prepare begin: refused: 0000:01:00.0"), "\(run.stderr)")
        #expect(f.writes(since: mark).isEmpty)
        #expect(f.driver("05:00.0") == "igb")
        #expect(try f.records().isEmpty)
    }

    @Test(
        "bad input to prepare: exit 64, one line, nothing changed",
        arguments: [
            ("<domain><devices>", "domain XML ends inside <devices>"),
            (
                "<domain><devices><hostdev mode='subsystem' type='pci' managed='no'><source><address bus='0x01' slot='0x40' function='0'/></source></hostdev></devices></domain>",
                "slot='0x40'"
            ),
        ])
    func badXML(_ text: String, _ message: String) throws {
        f.host.write("/bad.xml", text)
        let run = f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", f.host.path + "/bad.xml"])
        #expect(run.status == 64)
        #expect(run.stderr.contains(message) && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(f.kernel.writes.isEmpty)
    }

    @Test("restore --domain gives back only that VM's devices")
    func restoreDomain() throws {
        #expect(f.run(["hook", "libvirt", "win11", "prepare", "begin", "-", "--xml", xml(Self.hostdev("0x05", "0x00"))]).status == 0)
        #expect(f.run(["bind", "06:00.0"]).status == 0)
        let run = f.run(["restore", "--domain", "win11"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "restored 0000:05:00.0 to igb (was vfio-pci)\n")
        #expect(f.driver("06:00.0") == "vfio-pci")
        #expect(try f.records() == ["0000:06:00.0"])
        #expect(f.run(["restore", "--domain", "win11"]).stdout == "nothing to restore: /run/vfioctl/state.json records no device bound for domain win11\n")
    }

    @Test("proxmox pre-start binds the hostpci devices (a slot is all its functions), post-stop gives them back")
    func proxmox() throws {
        f.host.write("/etc/pve/qemu-server/100.conf", "cores: 2\nhostpci0: 0000:05:00,pcie=1,x-vga=1\nhostpci1: host=08:01.0\n[snap]\nhostpci2: 06:00.0\n")
        let start = f.run(["hook", "proxmox", "100", "pre-start"])
        #expect(start.status == 0, "\(start.stderr)")
        #expect(start.stderr.contains("vfioctl: proxmox VM 100 pre-start: bound 0000:05:00.0 to vfio-pci (was igb)"))
        #expect(try domains() == ["0000:05:00.0": "100", "0000:08:00.0": "100", "0000:08:01.0": "100"])
        #expect(f.driver("06:00.0") == "igb", "a snapshot's line is not the VM's")
        for phase in ["post-start", "pre-stop"] { #expect(f.run(["hook", "proxmox", "100", phase]).status == 0) }
        #expect(try f.records().count == 3)
        let stop = f.run(["hook", "proxmox", "100", "post-stop"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try f.records().isEmpty)
        #expect(f.driver("08:01.0") == "r8169")
    }

    @Test("proxmox mapping=: its map line for this node, checked against its ids")
    func proxmoxMapping() throws {
        f.host.write("/etc/hostname", "pve1.example.org\n")
        f.host.write(
            "/etc/pve/mapping/pci.cfg",
            "nic\n\tmap id=8086:1533,node=pve2,path=0000:06:00.0\n\tmap id=8086:1533,node=pve1,path=0000:05:00.0\nbad\n\tmap id=10de:2204,node=pve1,path=0000:06:00.0\n")
        f.host.write("/vm.conf", "hostpci0: mapping=nic,pcie=1\n")
        #expect(f.run(["hook", "proxmox", "101", "pre-start", "--conf", f.host.path + "/vm.conf"]).status == 0)
        #expect(try domains() == ["0000:05:00.0": "101"])
        f.host.write("/vm.conf", "hostpci0: mapping=bad\n")
        let wrong = f.run(["hook", "proxmox", "102", "pre-start", "--conf", f.host.path + "/vm.conf"])
        #expect(wrong.status == 2 && wrong.stderr.contains("0000:06:00.0 is 8086:1533, not 10de:2204 as the mapping says"), "\(wrong.stderr)")
        f.host.write("/vm.conf", "hostpci0: mapping=missing\n")
        let missing = f.run(["hook", "proxmox", "102", "pre-start", "--conf", f.host.path + "/vm.conf"])
        #expect(missing.status == 64 && missing.stderr.contains("/etc/pve/mapping/pci.cfg has no PCI mapping 'missing'"), "\(missing.stderr)")
        #expect(f.run(["hook", "proxmox", "../x", "pre-start"]).status == 64)
        #expect(try domains() == ["0000:05:00.0": "101"])
    }
}
