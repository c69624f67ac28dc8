import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

/// Kernels without the group interface (CONFIG_VFIO_GROUP=n) and hosts without an IOMMU
/// (vfio's no-IOMMU mode), as the guest kernels of Tests/vm/kernel show them.
@Suite("cdev-only kernels and no-IOMMU mode")
struct CdevNoIOMMUTests {
    static func groups(_ json: [String: Any]) -> [[String: Any]] { json["groups"] as? [[String: Any]] ?? [] }

    /// The `vfioX` name the kernel gave the device (vfio-dev/).
    static func cdevName(_ host: FixtureHost, _ address: String) -> String? {
        host.devicePath(PCIAddress(address)!).flatMap { Sysfs.list($0 + "/vfio-dev")?.first }
    }

    @Test("cdev only: bind verifies the device's cdev, not a group node the kernel never makes")
    func cdevOnlyBind() throws {
        let host = FixtureLayout.desktop.build()
        let kernel = SimulatedKernel(host: host)
        kernel.removeGroupInterface()
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stderr.contains("does not exist"))
        #expect(host.driver("05:00.0") == "vfio-pci")
        let name = try #require(Self.cdevName(host, "05:00.0"))
        #expect(Sysfs.exists(host.path + "/dev/vfio/devices/" + name))
        #expect(!Sysfs.exists(host.path + "/dev/vfio/19"))
        let show = vfioctl(["show", "05:00.0"], host: host, kernel: kernel)
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout.contains("VFIO nodes:        /dev/vfio/devices/\(name) ("), "\(show.stdout)")
        #expect(!show.stdout.contains("/dev/vfio/19"))
        #expect(!show.stdout.contains("missing"))
        let unbind = vfioctl(["unbind", "05:00.0"], host: host, kernel: kernel)
        #expect(unbind.status == 0, "\(unbind.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(!Sysfs.exists(host.path + "/dev/vfio/devices/" + name))
    }

    @Test("cdev only: doctor says that programs opening groups cannot use the devices")
    func cdevOnlyDoctor() throws {
        let host = FixtureLayout.intelHost()
        let kernel = SimulatedKernel(host: host)
        kernel.removeGroupInterface()
        let facts = DoctorFactsReader(root: host.root).read(inventory: try InventoryReader(root: host.root, database: nil).read())
        #expect(facts.interfaces == VFIOInterfaces(groups: false, cdevs: true))
        let finding = try #require(Doctor.diagnose(facts).first { $0.check == "vfio-interfaces" })
        #expect(finding.status == .warn)
        #expect(finding.message.contains("only the VFIO device cdev"))
        // With both interfaces there is nothing to say.
        let both = FixtureLayout.intelHost()
        _ = SimulatedKernel(host: both)
        let bothFacts = DoctorFactsReader(root: both.root).read(inventory: try InventoryReader(root: both.root, database: nil).read())
        #expect(!Doctor.diagnose(bothFacts).contains { $0.check == "vfio-interfaces" })
    }

    @Test("both interfaces: show lists the group node and the cdev")
    func bothNodes() throws {
        let host = FixtureLayout.desktop.build()
        try FileManager.default.createDirectory(atPath: host.path + "/dev/vfio/devices", withIntermediateDirectories: true)
        let kernel = SimulatedKernel(host: host)
        #expect(vfioctl(["bind", "05:00.0"], host: host, kernel: kernel).status == 0)
        let show = vfioctl(["show", "05:00.0"], host: host, kernel: kernel)
        let name = try #require(Self.cdevName(host, "05:00.0"))
        #expect(show.stdout.contains("VFIO nodes:        /dev/vfio/19 ("), "\(show.stdout)")
        #expect(show.stdout.contains("), /dev/vfio/devices/\(name) ("), "\(show.stdout)")
    }

    @Test("bind verification still fails when a cdev the kernel registered is missing under /dev")
    func missingCdev() throws {
        let host = FixtureLayout.desktop.build()
        try FileManager.default.createDirectory(atPath: host.path + "/dev/vfio/devices", withIntermediateDirectories: true)
        let kernel = SimulatedKernel(host: host)
        kernel.onWrite { write in
            // devtmpfs "loses" the node right after the probe.
            if write.path == SysfsPaths.driversProbe, let name = Self.cdevName(host, "05:00.0") { unlink(host.path + "/dev/vfio/devices/" + name) }
        }
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(run.stderr.contains("/dev/vfio/devices/vfio") && run.stderr.contains(" does not exist"), "\(run.stderr)")
        #expect(host.driver("05:00.0") == "igb")
    }

    @Test("no IOMMU, mode off: bind refuses with one line, exit 69, nothing written")
    func noIOMMURefused() throws {
        let host = FixtureLayout.noIOMMU.build()
        let kernel = SimulatedKernel(host: host)
        host.setNoIOMMU(false)
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 69)
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains("no-IOMMU mode is off"))
        #expect(kernel.writes.isEmpty)
        #expect(host.driver("05:00.0") == "igb")
    }

    @Test("no IOMMU, mode on: bound; list and show mark the group no-IOMMU, text and JSON")
    func noIOMMUBound() throws {
        let host = FixtureLayout.noIOMMU.build()
        try FileManager.default.createDirectory(atPath: host.path + "/dev/vfio/devices", withIntermediateDirectories: true)
        let kernel = SimulatedKernel(host: host)
        host.setNoIOMMU(true)
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("unsafe no-IOMMU mode"))
        #expect(Sysfs.exists(host.path + "/dev/vfio/noiommu-0"))
        // vfio_device_add gives a no-IOMMU device no cdev.
        #expect(!Sysfs.exists(host.path + "/dev/vfio/devices/vfio0"))

        let list = vfioctl(["list"], host: host, kernel: kernel)
        #expect(list.stdout.contains("0 viable no-IOMMU"), "\(list.stdout)")
        let json = try vfioctl(["list", "--json"], host: host, kernel: kernel).json()
        let group = try #require(Self.groups(json).first { $0["id"] as? Int == 0 })
        #expect(group["noIOMMU"] as? Bool == true)

        let show = vfioctl(["show", "05:00.0"], host: host, kernel: kernel)
        #expect(show.stdout.contains("no-IOMMU (no DMA isolation)"), "\(show.stdout)")
        #expect(show.stdout.contains("VFIO nodes:        /dev/vfio/noiommu-0 ("))
        #expect(!show.stdout.contains("/dev/vfio/devices/"))
        let showJSON = try vfioctl(["show", "05:00.0", "--json"], host: host, kernel: kernel).json()
        #expect((showJSON["group"] as? [String: Any])?["noIOMMU"] as? Bool == true)

        let unbind = vfioctl(["unbind", "05:00.0"], host: host, kernel: kernel)
        #expect(unbind.status == 0, "\(unbind.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(!Sysfs.exists(host.path + "/dev/vfio/noiommu-0"))
    }

    @Test("a group with an IOMMU is not marked")
    func plainGroupUnmarked() throws {
        let host = FixtureLayout.desktop.build()
        let json = try vfioctl(["list", "--json"], host: host, kernel: SimulatedKernel(host: host)).json()
        #expect(!Self.groups(json).isEmpty)
        #expect(Self.groups(json).allSatisfy { $0["noIOMMU"] as? Bool == false })
    }

    @Test(
        "doctor without an IOMMU says whether no-IOMMU mode is on and what it means",
        arguments: [("N\n", "is off"), ("Y\n", "is on"), (nil, "is not available")] as [(String?, String)])
    func doctorNoIOMMU(_ parameter: String?, _ words: String) throws {
        let host = FixtureLayout.noIOMMU.build()
        if let parameter { host.write(SysfsPaths.noiommuParameter, parameter) }
        let facts = DoctorFactsReader(root: host.root).read(inventory: try InventoryReader(root: host.root, database: nil).read())
        let findings = Doctor.diagnose(facts)
        let finding = try #require(findings.first { $0.check == "noiommu" })
        #expect(finding.status == .warn)
        #expect(finding.message.contains("no IOMMU, and vfio's no-IOMMU mode " + words), "\(finding.message)")
        if parameter != nil {
            #expect(finding.message.contains("no DMA isolation"))
            #expect(finding.message.contains("taints the kernel"))
        }
        #expect(findings.first { $0.check == "iommu" }?.status == .fail)
    }

    @Test("doctor: vfio's no-IOMMU groups are not an IOMMU")
    func doctorNoIOMMUGroups() throws {
        let host = FixtureLayout.noIOMMU.build()
        let kernel = SimulatedKernel(host: host)
        host.setNoIOMMU(true)
        #expect(vfioctl(["bind", "05:00.0"], host: host, kernel: kernel).status == 0)
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        #expect(inventory.groups[0]?.noIOMMU == true)
        let facts = DoctorFactsReader(root: host.root).read(inventory: inventory)
        #expect(facts.groupCount == 0)
        #expect(facts.noIOMMUGroups == [0])
        let findings = Doctor.diagnose(facts)
        #expect(findings.first { $0.check == "iommu" }?.status == .fail)
        #expect(findings.first { $0.check == "noiommu" }?.message.contains("(group 0 in it)") == true)
        #expect(findings.filter { $0.check == "noiommu" }.count == 1)
    }
}
