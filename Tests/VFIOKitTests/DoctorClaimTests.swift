import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("doctor: a virtual machine's IOMMU, and devices claimed at add")
struct DoctorClaimTests {
    static func facts(_ host: FixtureHost) throws -> DoctorFacts {
        DoctorFactsReader(root: host.root).read(inventory: try InventoryReader(root: host.root, database: nil).read())
    }

    struct VMCase: Sendable, CustomTestStringConvertible {
        var flags: String
        var vendor: String?
        var product: String?
        var expected: Hypervisor?
        var testDescription: String { "flags '\(flags)', DMI \(vendor ?? "-") \(product ?? "-")" }
    }

    @Test(
        "the hypervisor CPU flag makes a VM, named by DMI where it can be; without it, bare metal",
        arguments: [
            VMCase(
                flags: "fpu vme sse2 hypervisor lahf_lm", vendor: "QEMU", product: "Standard PC (Q35 + ICH9, 2009)",
                expected: Hypervisor(product: "QEMU Standard PC (Q35 + ICH9, 2009)")),
            VMCase(flags: "fpu hypervisor", vendor: nil, product: nil, expected: Hypervisor(product: nil)),
            // "hypervisor" only as a whole flag (no such flag exists, but a substring must not count).
            VMCase(flags: "fpu vme sse2 lahf_lm nohypervisor", vendor: "QEMU", product: "Standard PC", expected: nil),
            VMCase(flags: "fpu vme sse2 vmx", vendor: "Dell Inc.", product: "PowerEdge R750", expected: nil),
        ])
    func hypervisor(_ c: VMCase) {
        let host = FixtureLayout.noIOMMU.build()
        host.write("/proc/cpuinfo", "processor\t: 0\nflags\t\t: \(c.flags)\n\nprocessor\t: 1\nflags\t\t: \(c.flags)\n")
        if let vendor = c.vendor { host.write("/sys/class/dmi/id/sys_vendor", vendor + "\n") }
        if let product = c.product { host.write("/sys/class/dmi/id/product_name", product + "\n") }
        #expect(Hypervisor.read(root: host.root) == c.expected)
    }

    @Test("without an IOMMU in a VM, the fix is the hypervisor's emulated IOMMU, not the firmware setup")
    func vmWithoutIOMMU() throws {
        let host = FixtureLayout.noIOMMU.build()
        host.write("/proc/cpuinfo", "flags\t\t: fpu hypervisor\n")
        host.write("/sys/class/dmi/id/sys_vendor", "QEMU\n")
        let iommu = try #require(Doctor.diagnose(try Self.facts(host)).first { $0.check == "iommu" })
        #expect(iommu.status == .fail)
        #expect(iommu.fix?.contains("this is a virtual machine (QEMU)") == true)
        #expect(iommu.fix?.contains("-device intel-iommu,intremap=on") == true)
        #expect(iommu.fix?.contains("virtio-iommu") == true)
        #expect(iommu.fix?.contains("firmware setup") == true)  // "…, not the firmware setup"
        #expect(iommu.fix?.hasPrefix("enable VT-d") == false)

        let metal = FixtureLayout.noIOMMU.build()
        metal.write("/proc/cpuinfo", "flags\t\t: fpu vmx\n")
        let bare = try #require(Doctor.diagnose(try Self.facts(metal)).first { $0.check == "iommu" })
        #expect(bare.fix?.hasPrefix("enable VT-d / AMD-Vi (IOMMU) in the firmware setup") == true)
    }

    @Test("a configured device: warned while on its host driver, or when it booted on one with the rule in place; ok once claimed")
    func claimed() throws {
        let host = FixtureLayout.intelHost()
        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\n")
        // No rule yet.
        var findings = Doctor.diagnose(try Self.facts(host)).filter { $0.check == "claim-at-add" }
        #expect(findings.map(\.status) == [.warn])
        #expect(findings.first?.message.contains("is missing") == true)

        host.write(ClaimFiles.rulePath, "# rule\n")
        host.write("/proc/stat", "cpu 1 2 3\nbtime 4000000000\n")  // a boot after the rule was written
        findings = Doctor.diagnose(try Self.facts(host)).filter { $0.check == "claim-at-add" }
        #expect(findings.count == 1)
        #expect(findings.first?.message.contains("0000:05:00.0 is configured for vfio-pci") == true)
        #expect(findings.first?.message.contains("host driver igb") == true)

        // Moved by vfioctl this boot, from igb, with the rule there before the boot.
        let kernel = SimulatedKernel(host: host)
        let session = HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, effectiveUID: 0, lockTimeout: .zero, deviceNumbers: host.deviceNumbers)
        _ = try session.bind(BindRequest(targets: [.address(PCIAddress("0000:05:00.0")!)], driver: "vfio-pci"))
        findings = Doctor.diagnose(try Self.facts(host)).filter { $0.check == "claim-at-add" }
        #expect(findings.count == 1)
        #expect(findings.first?.message.contains("booted on its host driver igb") == true, "\(findings)")

        // The rule was written during this boot (the first apply): moving it was expected.
        host.write("/proc/stat", "cpu 1 2 3\nbtime 1000\n")
        findings = Doctor.diagnose(try Self.facts(host)).filter { $0.check == "claim-at-add" }
        #expect(findings.map(\.status) == [.ok])
    }

    @Test("no configured VFIO device: no claim-at-add finding")
    func nothingConfigured() throws {
        let host = FixtureLayout.intelHost()
        #expect(!Doctor.diagnose(try Self.facts(host)).contains { $0.check == "claim-at-add" })
    }
}
