import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("IOMMU units: kind, interrupt isolation, attach verdict")
struct IOMMUPlatformTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var iommu: FixtureIOMMU
        var kind: IOMMUKind
        /// isolated / missing / unknown
        var isolation: String
        /// doctor's interrupt-remapping status with allow_unsafe_interrupts off
        var doctor: Finding.Status
        /// group 19's attach status with allow_unsafe_interrupts off
        var attach: AttachVerdict.Status
        var testDescription: String { iommu.description }
    }

    static let cases: [Case] = [
        Case(iommu: .intel(ecap: "0xf0050aa", remapped: true), kind: .intelVTd, isolation: "isolated", doctor: .ok, attach: .ok),
        Case(iommu: .intel(ecap: "0xf0050a2", remapped: false), kind: .intelVTd, isolation: "missing", doctor: .fail, attach: .refused),
        Case(iommu: .intel(ecap: "0xf0050aa", remapped: false), kind: .intelVTd, isolation: "missing", doctor: .fail, attach: .refused),
        Case(iommu: .amd(remapped: true), kind: .amdVi, isolation: "isolated", doctor: .ok, attach: .ok),
        Case(iommu: .amd(remapped: false), kind: .amdVi, isolation: "missing", doctor: .fail, attach: .refused),
        Case(iommu: .virtio, kind: .virtio, isolation: "missing", doctor: .fail, attach: .refused),
        Case(iommu: .virtioARM(its: true), kind: .virtio, isolation: "isolated", doctor: .ok, attach: .ok),
        Case(iommu: .smmuv3(its: true), kind: .armSMMUv3, isolation: "isolated", doctor: .ok, attach: .ok),
        Case(iommu: .smmuv3(its: false), kind: .armSMMUv3, isolation: "missing", doctor: .fail, attach: .refused),
        Case(iommu: .unknown, kind: .unknown, isolation: "unknown", doctor: .warn, attach: .unknown),
    ]

    static func isolationName(_ isolation: MSIIsolation) -> String {
        switch isolation {
        case .isolated: "isolated"
        case .missing: "missing"
        case .unknown: "unknown"
        }
    }

    static func doctor(_ host: FixtureHost) throws -> [Finding] {
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        return Doctor.diagnose(DoctorFactsReader(root: host.root).read(inventory: inventory))
    }

    @Test("each kind is identified from sysfs and judged from the facts its kernel exposes", arguments: cases)
    func kinds(_ c: Case) throws {
        let host = FixtureLayout.iommuHost(c.iommu)
        let platform = IOMMUPlatformReader(root: host.root).read(groups: [19])
        let unit = try #require(platform.units.first)
        #expect(platform.units.count == 1)
        #expect(unit.kind == c.kind)
        #expect(platform.groupUnits[19] == unit.name, "group 19's members point at the unit")
        #expect(Self.isolationName(platform.isolation(of: unit)) == c.isolation, "\(platform.isolation(of: unit))")
        #expect(platform.attachVerdict(group: 19).status == c.attach)
        let finding = try #require(try Self.doctor(host).first { $0.check == "interrupt-remapping" })
        #expect(finding.status == c.doctor, "\(finding.message)")
        if c.doctor == .fail {
            #expect(finding.fix?.contains("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts") == true)
            #expect(finding.fix?.contains("iommufd.allow_unsafe_interrupts=1") == true)
        }
        let iommu = try #require(try Self.doctor(host).first { $0.check == "iommu" })
        #expect(iommu.message.hasPrefix(c.kind.title + " on ("), "\(iommu.message)")
    }

    @Test("the unit's name does not decide its kind: a virtio-iommu is named after its PCI function")
    func virtioByDriver() throws {
        let host = FixtureLayout.iommuHost(.virtio)
        let unit = try #require(IOMMUPlatformReader(root: host.root).read().units.first)
        #expect(unit.name == "0000:00:1a.0")
        #expect(unit.parentDriver == "virtio_iommu")
        #expect(unit.parentDevice == "/sys/devices/pci0000:00/0000:00:1a.0/virtio0")
        #expect(unit.pciFunction == PCIAddress("0000:00:1a.0"))
        let iommu = try #require(try Self.doctor(host).first { $0.check == "iommu" })
        #expect(iommu.message.contains("virtio-iommu on (0000:00:1a.0 [virtio_iommu])"), "\(iommu.message)")
        let remapping = try #require(try Self.doctor(host).first { $0.check == "interrupt-remapping" })
        #expect(remapping.message.contains("virtio-iommu remaps no interrupts on x86"), "\(remapping.message)")
    }

    @Test("Intel capable but not enabled: the fix names the command line first")
    func intelNotEnabled() throws {
        let host = FixtureLayout.iommuHost(.intel(ecap: "0xf0050aa", remapped: false), cmdline: "intel_iommu=on intremap=off")
        let finding = try #require(try Self.doctor(host).first { $0.check == "interrupt-remapping" })
        #expect(finding.status == .fail)
        #expect(finding.message.contains("did not turn it on"))
        #expect(finding.fix?.hasPrefix("remove intremap=off") == true)
        let bare = try #require(try Self.doctor(FixtureLayout.iommuHost(.intel(ecap: "0xf0050a2", remapped: false))).first { $0.check == "interrupt-remapping" })
        #expect(bare.message.contains("ECAP bit 3"))
        #expect(bare.fix?.hasPrefix("to accept the risk") == true)
    }

    @Test("allow_unsafe_interrupts: refused, unsafe, and iommufd's own switch")
    func unsafeSwitches() throws {
        let host = FixtureLayout.iommuHost(.virtio)
        func verdict() -> AttachVerdict { IOMMUPlatformReader(root: host.root).read(groups: [19]).attachVerdict(group: 19) }
        func remapping() throws -> Finding { try #require(try Self.doctor(host).first { $0.check == "interrupt-remapping" }) }
        // Not loaded: the default (off) applies.
        #expect(verdict().status == .refused)
        #expect(
            verdict().warning
                == "VFIO will refuse to attach it here (no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 to accept the risk)")
        host.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "N\n")
        #expect(verdict().status == .refused)
        #expect(try remapping().status == .fail)
        host.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")
        #expect(verdict().status == .unsafe)
        #expect(verdict().warning?.contains("only because vfio_iommu_type1.allow_unsafe_interrupts is on") == true)
        #expect(verdict().iommufdRefuses == false)
        #expect(try remapping().status == .warn)
        // iommufd loaded with its switch off: the type1 path attaches, iommufd still refuses.
        host.write("/sys/module/iommufd/parameters/allow_unsafe_interrupts", "N\n")
        #expect(verdict().iommufdRefuses)
        #expect(verdict().warning?.contains("iommufd still refuses it (iommufd.allow_unsafe_interrupts=1)") == true)
        #expect(try remapping().message.contains("iommufd still refuses them"))
        host.write("/sys/module/iommufd/parameters/allow_unsafe_interrupts", "Y\n")
        #expect(verdict().iommufdRefuses == false)
    }

    @Test("a module not loaded yet takes allow_unsafe_interrupts from the command line", arguments: [("1", true), ("Y", true), ("0", false), ("N", false)])
    func commandLineParameter(_ value: String, _ allows: Bool) {
        let host = FixtureLayout.iommuHost(.virtio, cmdline: "quiet vfio_iommu_type1.allow_unsafe_interrupts=" + value)
        let verdict = IOMMUPlatformReader(root: host.root).read(groups: [19]).attachVerdict(group: 19)
        #expect(verdict.status == (allows ? .unsafe : .refused))
    }

    @Test("a group follows the unit its members sit behind")
    func perGroupUnit() {
        let host = FixtureLayout.iommuHost(.smmuv3(its: true))
        // A second SMMU whose MSIs cannot be isolated would refuse only the groups behind it;
        // here the second unit is of a kind vfioctl cannot judge.
        host.addBareUnit("iommu1")
        host.placeBehind("iommu1", [PCIAddress("0000:05:00.0")!])
        let platform = IOMMUPlatformReader(root: host.root).read(groups: [19, 22])
        #expect(platform.groupUnits == [19: "iommu1", 22: "smmu3.0x0000000009050000"])
        #expect(platform.attachVerdict(group: 22).status == .ok)
        #expect(platform.attachVerdict(group: 19).status == .unknown)
        // A group whose members name no unit is judged by every unit: the worst one decides.
        #expect(platform.attachVerdict(group: 99).status == .unknown)
    }

    @Test(
        "interrupt chips as /proc/interrupts names them",
        arguments: [
            ("  24:   0   IR-PCI-MSIX-0000:00:02.0    0-edge   nvme0q0\nLOC:  5  Local timer interrupts\n", true, false, true),
            ("  0:  44  IO-APIC   2-edge  timer\n  24:  0  PCI-MSIX-0000:01:00.0  0-edge  virtio1-config\n", false, false, true),
            ("  12:  0  ITS-PCI-MSIX-0000:00:01.0  0 Edge  virtio0-config\nIPI0:  3  Rescheduling interrupts\n", false, true, false),
            ("", false, false, false),
        ])
    func chips(_ text: String, _ remapped: Bool, _ its: Bool, _ x86: Bool) {
        let chips = InterruptChips.parse(Substring(text))
        #expect(chips == InterruptChips(readable: true, remapped: remapped, gicITS: its, x86: x86))
    }

    @Test(
        "kind from the facts alone",
        arguments: [
            (IOMMUUnit(name: "dmar3", intelECAP: 0x8), IOMMUKind.intelVTd),
            (IOMMUUnit(name: "ivhd0", hasAMDAttributes: true), .amdVi),
            (IOMMUUnit(name: "0000:00:1e.0", parentDriver: "virtio_iommu"), .virtio),
            (IOMMUUnit(name: "smmu.0x0000000012000000", parentDriver: "arm-smmu"), .armSMMU),
            (IOMMUUnit(name: "smmu3.0x0000000009050000", parentDriver: "arm-smmu-v3"), .armSMMUv3),
            (IOMMUUnit(name: "27000000.iommu", parentDriver: "apple-dart"), .other),
            (IOMMUUnit(name: "s390-iommu.00000012"), .s390),
            (IOMMUUnit(name: "iommu-phb0000"), .powerTCE),
            (IOMMUUnit(name: "dmar0"), .unknown),
        ])
    func identify(_ unit: IOMMUUnit, _ kind: IOMMUKind) {
        #expect(unit.kind == kind)
    }

    @Test("s390 isolates MSIs in firmware; POWER cannot be judged")
    func otherArchitectures() {
        let s390 = IOMMUPlatform(units: [IOMMUUnit(name: "s390-iommu.00000012")], architecture: "s390x", groupUnits: [0: "s390-iommu.00000012"])
        #expect(s390.attachVerdict(group: 0).status == .ok)
        let power = IOMMUPlatform(units: [IOMMUUnit(name: "iommu-phb0000")], architecture: "ppc64le")
        #expect(power.attachVerdict(group: 0).status == .unknown)
        #expect(IOMMUPlatform().attachVerdict(group: 0).status == .unknown)
    }
}
