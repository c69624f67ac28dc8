import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("VFIO variant drivers from modules.alias")
struct VFIOAliasTests {
    static let aliases = VFIOAlias.parse(FixtureHost.realShapedAliases)

    static func device(_ vendor: UInt16, _ id: UInt16, sv: UInt16? = nil, sd: UInt16? = nil, cls: UInt32 = 0x020000) -> PCIDevice {
        PCIDevice(
            address: PCIAddress("0000:41:00.1")!, vendorID: vendor, deviceID: id, subsystemVendorID: sv ?? vendor, subsystemDeviceID: sd ?? id,
            classCode: cls)
    }

    @Test("only vfio_pci: lines are read, every field as hex or any")
    func parse() {
        #expect(Self.aliases.count == 8)
        #expect(!Self.aliases.contains { $0.module == "e1000e" || $0.module == "mlx5_core" })
        let mlx = Self.aliases.first { $0.module == "mlx5_vfio_pci" }!
        #expect(mlx.vendor == 0x15b3 && mlx.device == 0x101e && mlx.subvendor == nil && mlx.baseClass == nil)
        #expect(mlx.specificity == 2)
        #expect(Self.aliases.first { $0.module == "vfio_pci" }?.driver == "vfio-pci")
        #expect(VFIOAlias.parse("alias vfio_pci:v15B3d*sv*sd*bc*sc*i* broken\nalias vfio_pci:v*d*sv*sd*bc*sc*i* ../x\n").isEmpty)
        let classed = VFIOAlias.parse("alias vfio_pci:v*d*sv*sd*bc02sc00i* some_vfio_pci\n")
        #expect(classed.first?.baseClass == 0x02 && classed.first?.subclass == 0 && classed.first?.interface == nil)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var vendor: UInt16
        var device: UInt16
        var driver: String
        var testDescription: String { hexString(UInt32(vendor), width: 4) + ":" + hexString(UInt32(device), width: 4) + " -> " + driver }
    }

    @Test(
        "auto picks the matching variant, else vfio-pci",
        arguments: [
            Case(vendor: 0x15b3, device: 0x101e, driver: "mlx5_vfio_pci"),
            Case(vendor: 0x19e5, device: 0xa259, driver: "hisi_acc_vfio_pci"),
            Case(vendor: 0x1af4, device: 0x1041, driver: "virtio_vfio_pci"),
            Case(vendor: 0x10de, device: 0x2342, driver: "nvgrace_gpu_vfio_pci"),
            Case(vendor: 0x1af4, device: 0x1009, driver: "vfio-pci"),
            Case(vendor: 0x8086, device: 0x10d3, driver: "vfio-pci"),
        ])
    func choose(_ c: Case) {
        let choice = VFIODriverChoice.choose(for: Self.device(c.vendor, c.device), aliases: Self.aliases)
        #expect(choice.driver == c.driver, "\(choice.reason)")
        #expect(choice.candidates.last?.module == "vfio_pci")
        #expect(choice.hasVariant == (c.driver != "vfio-pci"))
    }

    @Test("the most specific alias wins; equal ones go by name; no file means vfio-pci")
    func specificity() {
        let extra = VFIOAlias.parse(
            """
            alias vfio_pci:v000015B3d0000101Esv000015B3sd00000042bc*sc*i* zz_special_vfio_pci
            alias vfio_pci:v000015B3d0000101Esv*sd*bc*sc*i* aa_other_vfio_pci
            """)
        let special = Self.device(0x15b3, 0x101e, sv: 0x15b3, sd: 0x0042)
        #expect(VFIODriverChoice.choose(for: special, aliases: Self.aliases + extra).driver == "zz_special_vfio_pci")
        let plain = Self.device(0x15b3, 0x101e, sv: 0x15b3, sd: 0x0001)
        let tie = VFIODriverChoice.choose(for: plain, aliases: Self.aliases + extra)
        #expect(tie.driver == "aa_other_vfio_pci")
        #expect(tie.reason.contains("first by name"))
        #expect(VFIODriverChoice.choose(for: plain, aliases: []).driver == "vfio-pci")
    }

    @Test("the reader finds modules.alias by /proc/sys/kernel/osrelease under the root")
    func reader() {
        let host = FixtureHost()
        #expect(ModuleAliasReader.read(root: host.root).isEmpty)
        host.writeModulesAlias()
        #expect(ModuleAliasReader.read(root: host.root).count == 8)
    }

    @Test("doctor warns about a device on vfio-pci that a variant fits")
    func doctor() {
        var facts = DoctorFacts()
        var device = Self.device(0x15b3, 0x101e)
        device.driver = "vfio-pci"
        facts.inventory = HostInventory(devices: [device], groups: [:], iommuEnabled: true)
        facts.vfioAliases = Self.aliases
        let finding = Doctor.variantDrivers(facts)
        #expect(finding.map(\.status) == [.warn])
        #expect(finding.first?.message.contains("mlx5_vfio_pci fits it") == true)
        facts.inventory?.devices[0].driver = "mlx5_vfio_pci"
        #expect(Doctor.variantDrivers(facts).isEmpty)
    }
}

@Suite("bind --driver auto on the simulated kernel")
struct AutoDriverBindTests {
    let host = FixtureHost()
    let kernel: SimulatedKernel
    let vf = PCIAddress("0000:41:00.1")!

    init() {
        host.add(FixtureDevice("0000:41:00.1", vendor: 0x15b3, device: 0x101e, classCode: 0x020000, driver: "mlx5_core", group: 7))
        host.writeModulesAlias()
        kernel = SimulatedKernel(host: host)
    }

    func bind() throws -> BindOutcome {
        let session = HostSession(
            root: host.root, kernel: kernel.interface, executorOptions: BindBench.fast, effectiveUID: 0, lockTimeout: .zero,
            deviceNumbers: host.deviceNumbers)
        return try session.bind(BindRequest(targets: [.address(vf)], driver: DriverName.auto))
    }

    @Test("loads the variant module and binds it, saying why")
    func variant() throws {
        kernel.makeLoadable("mlx5_vfio_pci")
        let outcome = try bind()
        #expect(outcome.exitStatus == .success, "\(outcome.result)")
        #expect(host.driver(of: vf) == "mlx5_vfio_pci")
        #expect(kernel.loads == ["mlx5_vfio_pci"])
        #expect(outcome.plan?.notes.first?.contains("alias vfio_pci:v000015B3d0000101E") == true)
    }

    @Test("falls back to vfio-pci when the variant cannot be loaded")
    func fallback() throws {
        let outcome = try bind()
        #expect(outcome.exitStatus == .success, "\(outcome.result)")
        #expect(host.driver(of: vf) == "vfio-pci")
        #expect(outcome.plan?.notes.contains { $0.contains("cannot be loaded") } == true)
    }
}
