import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("doctor verdicts")
struct DoctorTests {
    static func finding(_ findings: [Finding], _ check: String) -> Finding? {
        findings.first { $0.check == check }
    }

    static func intelHost(ecap: String = "0xf0050aa", remapped: Bool = true, cmdline: String = "intel_iommu=on iommu=pt") -> FixtureHost {
        FixtureLayout.intelHost(ecap: ecap, remapped: remapped, cmdline: cmdline)
    }

    static func diagnose(_ host: FixtureHost) throws -> [Finding] {
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        return Doctor.diagnose(DoctorFactsReader(root: host.root).read(inventory: inventory))
    }

    @Test("a healthy Intel host: IOMMU, remapping and modules are ok")
    func healthy() throws {
        let findings = try Self.diagnose(Self.intelHost())
        #expect(Self.finding(findings, "iommu")?.status == .ok)
        #expect(Self.finding(findings, "iommu")?.message.contains("Intel VT-d") == true)
        #expect(Self.finding(findings, "interrupt-remapping")?.status == .ok)
        #expect(Self.finding(findings, "vfio-modules")?.status == .ok)
        #expect(Self.finding(findings, "cmdline")?.message.contains("intel_iommu=on") == true)
        #expect(!findings.contains { $0.status == .fail })
        // The conventional-bridge group spans two slots; the chipset group is one multi-function
        // device and the GPU group one card, which share legitimately.
        let sizes = try #require(Self.finding(findings, "group-sizes"))
        #expect(sizes.status == .warn)
        #expect(sizes.message.contains("group 25"))
        #expect(!sizes.message.contains("group 12") && !sizes.message.contains("group 1 "))
        #expect(Self.finding(findings, "ungrouped")?.message.contains("0000:00:08.0") == true)
    }

    @Test("no interrupt remapping capability fails unless unsafe interrupts are allowed")
    func noRemapping() throws {
        let host = Self.intelHost(ecap: "0xf0050a2", remapped: false)
        #expect(Self.finding(try Self.diagnose(host), "interrupt-remapping")?.status == .fail)
        host.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")
        let findings = try Self.diagnose(host)
        #expect(Self.finding(findings, "interrupt-remapping")?.status == .warn)
        #expect(Self.finding(findings, "unsafe-interrupts")?.status == .warn)
    }

    @Test("capable but not enabled fails (VFIO refuses the attach) and names the fix")
    func notEnabled() throws {
        let finding = Self.finding(try Self.diagnose(Self.intelHost(remapped: false, cmdline: "intel_iommu=on intremap=off")), "interrupt-remapping")
        #expect(finding?.status == .fail)
        #expect(finding?.fix?.contains("intremap=off") == true)
    }

    @Test("ACS override, noiommu mode and a missing vfio-pci are reported")
    func dangers() throws {
        let host = Self.intelHost(cmdline: "intel_iommu=on pcie_acs_override=downstream,multifunction")
        host.write("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "Y\n")
        host.write("/lib/modules/6.12.0-test/modules.dep", "kernel/drivers/net/e1000e.ko:\n")
        let findings = try Self.diagnose(host)
        #expect(Self.finding(findings, "acs-override")?.status == .warn)
        #expect(Self.finding(findings, "noiommu")?.status == .warn)
        // The fixture has the vfio-pci driver directory, so the module counts as loaded.
        #expect(Self.finding(findings, "vfio-modules")?.status == .ok)
    }

    @Test("the state file: devices where vfioctl left them, moved behind its back, or left mid-operation")
    func stateFile() throws {
        let host = Self.intelHost()
        // The fixture's VF 07:02.1 is on vfio-pci; record it as vfioctl's doing.
        host.write(
            "/run/vfioctl/state.json",
            #"{"schemaVersion":1,"devices":[{"address":"0000:07:02.1","group":24,"originalDriver":"iavf","originalOverride":null,"boundDriver":"vfio-pci","status":"bound","currentDriver":null,"time":"2026-11-21T10:00:00Z"}]}"#
        )
        #expect(Self.finding(try Self.diagnose(host), "state")?.status == .ok)
        host.write(
            "/run/vfioctl/state.json",
            #"{"schemaVersion":1,"devices":[{"address":"0000:05:00.0","group":19,"originalDriver":"igb","originalOverride":null,"boundDriver":"vfio-pci","status":"bound","currentDriver":null,"time":"2026-11-21T10:00:00Z"}]}"#
        )
        let moved = try #require(Self.finding(try Self.diagnose(host), "state"))
        #expect(moved.status == .warn)
        #expect(moved.message.contains("0000:05:00.0 is on igb, not vfio-pci"))
        host.write(
            "/run/vfioctl/state.json",
            #"{"schemaVersion":1,"devices":[{"address":"0000:05:00.0","group":19,"originalDriver":"igb","originalOverride":null,"boundDriver":"vfio-pci","status":"pending","currentDriver":null,"time":"2026-11-21T10:00:00Z"}]}"#
        )
        #expect(Self.finding(try Self.diagnose(host), "state")?.status == .fail)
        host.write("/run/vfioctl/state.json", "{not json")
        #expect(Self.finding(try Self.diagnose(host), "state")?.status == .fail)
        host.write("/run/vfioctl/state.json", #"{"schemaVersion":1,"devices":[]}"#)
        #expect(Self.finding(try Self.diagnose(host), "state") == nil)
    }

    @Test("vfio-pci neither loaded nor installed fails")
    func vfioMissing() {
        var facts = DoctorFacts()
        facts.platform.units = [.init(name: "dmar0", intelECAP: 0xf0050aa)]
        facts.groupCount = 3
        facts.kernelRelease = "6.1.0"
        facts.vfioPCIAvailable = false
        #expect(Self.finding(Doctor.diagnose(facts), "vfio-modules")?.status == .fail)
        facts.vfioPCIAvailable = true
        #expect(Self.finding(Doctor.diagnose(facts), "vfio-modules")?.status == .ok)
    }

    @Test(
        "no IOMMU fails, and the fix follows the command line",
        arguments: [
            ("", "firmware"), ("intel_iommu=off", "remove intel_iommu=off"), ("amd_iommu=off", "remove amd_iommu=off"),
        ])
    func noIOMMU(_ cmdline: String, _ fixWords: String) throws {
        let host = FixtureLayout.noIOMMU.build()
        host.write("/proc/cmdline", cmdline + "\n")
        let finding = try #require(Self.finding(try Self.diagnose(host), "iommu"))
        #expect(finding.status == .fail)
        #expect(finding.fix?.contains(fixWords) == true)
    }

    @Test("identity default domains are reported as passthrough, not as a problem")
    func passthrough() throws {
        let host = Self.intelHost()
        for id in [0, 1, 12] { host.write("/sys/kernel/iommu_groups/\(id)/type", "identity\n") }
        let finding = try #require(Self.finding(try Self.diagnose(host), "translation"))
        #expect(finding.status == .ok)
        #expect(finding.message.contains("identity"))
    }

    @Test(
        "on this build machine (no IOMMU), doctor says so", .enabled(if: (Sysfs.list("/sys/class/iommu") ?? []).isEmpty && (Sysfs.list("/sys/kernel/iommu_groups") ?? []).isEmpty))
    func buildMachine() throws {
        let root = HostRoot()
        let inventory = try? InventoryReader(root: root, database: nil).read()
        let findings = Doctor.diagnose(DoctorFactsReader(root: root).read(inventory: inventory))
        #expect(Self.finding(findings, "iommu")?.status == .fail)
        #expect(Self.finding(findings, "interrupt-remapping")?.status == .warn)
    }
}
