import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("claim at device add: which devices the rule claims, and the files' text")
struct ClaimFilesTests {
    let host = FixtureLayout.desktop.build()

    func claims(_ text: String) throws -> [ClaimFiles.Claim] {
        let state = try DesiredState.parse(text, file: "/etc/vfioctl.conf")
        return ClaimFiles.claims(state, inventory: try InventoryReader(root: host.root, database: nil).read())
    }

    func matches(_ text: String) throws -> [String] {
        try claims(text).map { claim in
            switch claim.match {
            case .address(let address): "\(address) \(claim.driver)"
            case .ids(let vendor, let device): "\(Target.ids(vendor: vendor, device: device)) \(claim.driver)"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var conf: String
        var expected: [String]
        var testDescription: String { conf.split(separator: "\n").first.map(String.init) ?? "" }
    }

    @Test(
        "VFIO entries are claimed by address, ids without a count by ids, the rest by what they resolve to; host entries are not",
        arguments: [
            Case(conf: "[device 0000:05:00.0]\ndriver = vfio-pci\n", expected: ["0000:05:00.0 vfio-pci"]),
            // Hotplugged cards with these ids are claimed too.
            Case(conf: "[ids 8086:1533]\ndriver = vfio-pci\n", expected: ["8086:1533 vfio-pci"]),
            // A count or a NUMA node says nothing about a card not yet there: the addresses now.
            Case(conf: "[ids 8086:1533]\ndriver = vfio-pci\ncount = 1\n", expected: ["0000:05:00.0 vfio-pci"]),
            Case(conf: "[group 1]\ndriver = vfio-pci\n", expected: ["0000:01:00.0 vfio-pci", "0000:01:00.1 vfio-pci"]),
            Case(conf: "[device 0000:01:00.0]\ndriver = vfio-pci\ngroup = whole\n", expected: ["0000:01:00.0 vfio-pci", "0000:01:00.1 vfio-pci"]),
            Case(conf: "[device 0000:05:00.0]\ndriver = igb\n", expected: []),
            Case(conf: "[device 0000:05:00.0]\ndriver = host\n", expected: []),
            // A later entry giving the device back removes the claim of an earlier one.
            Case(conf: "[device 0000:05:00.0]\ndriver = vfio-pci\n[device 0000:05:00.0]\ndriver = none\n", expected: []),
            Case(
                conf: "[device 0000:05:00.0]\ndriver = vfio-pci\n[device 0000:05:00.0]\ndriver = mlx5_vfio_pci\n",
                expected: ["0000:05:00.0 mlx5_vfio_pci"]),
        ])
    func claimed(_ c: Case) throws {
        #expect(try matches(c.conf) == c.expected)
    }

    @Test("a PF's vfs with a VFIO vf-driver claim the VFs it has; without one, none")
    func virtualFunctions() throws {
        let nvme = FixtureHost.sriovNVMe()
        let kernel = SimulatedKernel(host: nvme)
        try kernel.write("2", to: "/sys/bus/pci/devices/0000:04:00.0/sriov_numvfs")
        let inventory = try InventoryReader(root: nvme.root, database: nil).read()
        let bound = try DesiredState.parse("[device 0000:04:00.0]\nvfs = 2\nvf-driver = vfio-pci\n", file: "f")
        #expect(ClaimFiles.claims(bound, inventory: inventory).map(\.match) == [.address(PCIAddress("0000:04:00.1")!), .address(PCIAddress("0000:04:00.2")!)])
        let unbound = try DesiredState.parse("[device 0000:04:00.0]\nvfs = 2\n", file: "f")
        #expect(ClaimFiles.claims(unbound, inventory: inventory).isEmpty)
    }

    @Test("the rule writes driver_override at add, before 80-drivers.rules, and then loads or probes the VFIO driver")
    func ruleText() throws {
        let files = ClaimFiles(
            claims: try claims("[device 0000:05:00.0]\ndriver = vfio-pci\n[ids 10de:2204]\ndriver = vfio-pci\n"), hostModules: ["igb", "nouveau", "igb"],
            initramfsTools: false)
        let lines = files.ruleText.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(
            lines == [
                #"ACTION=="add", SUBSYSTEM=="pci", KERNEL=="0000:05:00.0", ATTR{driver_override}="vfio-pci", RUN{builtin}+="kmod load vfio-pci", RUN+="/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'""#,
                #"ACTION=="add", SUBSYSTEM=="pci", ATTR{vendor}=="0x10de", ATTR{device}=="0x2204", ATTR{driver_override}="vfio-pci", RUN{builtin}+="kmod load vfio-pci", RUN+="/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'""#,
            ])
        #expect(files.ruleText.contains("# /etc/vfioctl.conf:1\n"))
        // Below 80 (80-drivers.rules loads the host driver's module from the modalias).
        let number = Int(ClaimFiles.rulePath.split(separator: "/").last!.prefix(2))!
        #expect(number < 80)
        let modprobe = files.modprobeText.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(modprobe == ["softdep igb pre: vfio-pci", "softdep nouveau pre: vfio-pci", "options vfio-pci ids=10de:2204"])
        #expect(files.files.map(\.path) == [ClaimFiles.rulePath, ClaimFiles.modprobePath])
        #expect(ClaimFiles(claims: [], hostModules: ["igb"], initramfsTools: true).files.isEmpty)
    }

    @Test("with initramfs-tools, the hook copies the rule and the modprobe file and adds the VFIO modules")
    func hook() throws {
        let files = ClaimFiles(claims: try claims("[device 0000:05:00.0]\ndriver = vfio-pci\n"), hostModules: [], initramfsTools: true)
        let hook = try #require(files.files.first { $0.path == ClaimFiles.initramfsHookPath })
        #expect(hook.mode == 0o755)
        #expect(hook.text.hasPrefix("#!/bin/sh\n"))
        #expect(hook.text.contains("manual_add_modules vfio-pci\n"))
        #expect(hook.text.contains("cp -p /etc/udev/rules.d/69-vfioctl-claim.rules \"$DESTDIR/lib/udev/rules.d/\"\n"))
        #expect(hook.text.contains("cp -p /etc/modprobe.d/vfioctl.conf \"$DESTDIR/etc/modprobe.d/\"\n"))
        // No ids claim on vfio-pci: no options line.
        #expect(!files.modprobeText.contains("options"))
    }
}
