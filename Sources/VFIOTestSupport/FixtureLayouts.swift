import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

/// Realistic host layouts with their known truth, so tests can compare what vfioctl reads
/// against what the tree was built to be.
public enum FixtureLayout: String, CaseIterable, Sendable {
    /// Desktop: GPU + HDMI audio behind a root port (one group), a chipset group of many
    /// functions, an NVMe alone, a PCIe switch with two NICs, an SR-IOV PF with VFs, a
    /// conventional PCI bridge whose devices share its group, a device with no group.
    case desktop
    /// Same functions with no IOMMU groups at all (IOMMU off).
    case noIOMMU

    public func build() -> FixtureHost {
        let builder = Builder(host: FixtureHost(), grouped: self == .desktop)
        for part in [Self.platform, Self.gpu, Self.storage, Self.pcieSwitch, Self.sriov, Self.conventionalBridge, Self.chipset] { part(builder) }
        builder.host.ensureDriver("vfio-pci")
        builder.host.ensureDriver("pci-stub")
        return builder.host
    }

    /// Adds one more copy of this layout's functions to `host`, in PCI domain `domain` (the
    /// layout's own addresses are in domain 0) with its group numbers raised by `groupBase`, so
    /// that copies do not collide. The benchmarks build hosts of thousands of functions this way.
    public func add(to host: FixtureHost, domain: UInt32, groupBase: Int) {
        let builder = Builder(host: host, grouped: self == .desktop, domain: domain, groupBase: groupBase)
        for part in [Self.platform, Self.gpu, Self.storage, Self.pcieSwitch, Self.sriov, Self.conventionalBridge, Self.chipset] { part(builder) }
    }

    /// Adds devices to a host; `g(id)` is the group when the layout has groups.
    struct Builder {
        let host: FixtureHost
        let grouped: Bool
        var domain: UInt32 = 0
        var groupBase = 0

        func g(_ id: Int) -> Int? { grouped ? id + groupBase : nil }

        /// A layout address (`0000:bb:dd.f`) in this copy's domain.
        func at(_ a: String) -> String { domain == 0 ? a : hexString(domain, width: 4) + a.dropFirst(4) }

        func dev(
            _ a: String, _ v: UInt16, _ d: UInt16, _ cls: UInt32, driver: String? = nil, group: Int?, parent: String? = nil, acs: UInt16? = nil,
            configure: (inout FixtureDevice) -> Void = { _ in }
        ) {
            var spec = FixtureDevice(at(a), vendor: v, device: d, classCode: cls, driver: driver, group: group, parent: parent.map(at))
            spec.acsControl = acs
            configure(&spec)
            spec.physicalFunction = spec.physicalFunction.flatMap { PCIAddress(at($0.description)) }
            host.add(spec)
        }
    }

    static func platform(_ b: Builder) {
        // Host bridge: alone, no driver.
        b.dev("0000:00:00.0", 0x8086, 0x4660, 0x060000, group: b.g(0)) { $0.resetMethods = nil }
        // A device with no IOMMU group even when the IOMMU is on.
        b.dev("0000:00:08.0", 0x8086, 0x464f, 0x088000, group: nil)
    }

    static func gpu(_ b: Builder) {
        // GPU behind a root port: port + GPU + HDMI audio share group 1.
        b.dev("0000:00:01.0", 0x8086, 0x460d, 0x060400, driver: "pcieport", group: b.g(1)) { $0.secondaryBus = 1 }
        b.dev("0000:01:00.0", 0x10de, 0x2204, 0x030000, driver: "nouveau", group: b.g(1), parent: "0000:00:01.0") {
            $0.multiFunction = true
            $0.bootVGA = true
            $0.enable = 1
            $0.subsystemVendor = 0x1043
            $0.subsystemDevice = 0x87b3
            $0.revision = 0xa1
            $0.msixTableSize = 16
            $0.link = (4, 16)
        }
        b.dev("0000:01:00.1", 0x10de, 0x1aef, 0x040300, driver: "snd_hda_intel", group: b.g(1), parent: "0000:00:01.0") {
            $0.multiFunction = true
            $0.enable = 1
        }
    }

    static func storage(_ b: Builder) {
        // NVMe alone in its group, behind its own root port (with ACS on).
        b.dev("0000:00:1d.0", 0x8086, 0x7ab8, 0x060400, driver: "pcieport", group: b.g(13), acs: 0x001d) { $0.secondaryBus = 2 }
        b.dev("0000:02:00.0", 0x144d, 0xa808, 0x010802, driver: "nvme", group: b.g(14), parent: "0000:00:1d.0") {
            $0.enable = 1
            $0.msixTableSize = 33
            $0.numaNode = 0
        }
    }

    static func pcieSwitch(_ b: Builder) {
        // PCIe switch: root port → upstream port → two downstream ports → one NIC each.
        b.dev("0000:00:1c.0", 0x8086, 0x7ab9, 0x060400, driver: "pcieport", group: b.g(15)) { $0.secondaryBus = 3 }
        b.dev("0000:03:00.0", 0x10b5, 0x8747, 0x060400, driver: "pcieport", group: b.g(16), parent: "0000:00:1c.0") { $0.secondaryBus = 4 }
        b.dev("0000:04:08.0", 0x10b5, 0x8747, 0x060400, driver: "pcieport", group: b.g(17), parent: "0000:03:00.0") { $0.secondaryBus = 5 }
        b.dev("0000:04:10.0", 0x10b5, 0x8747, 0x060400, driver: "pcieport", group: b.g(18), parent: "0000:03:00.0") { $0.secondaryBus = 6 }
        b.dev("0000:05:00.0", 0x8086, 0x1533, 0x020000, driver: "igb", group: b.g(19), parent: "0000:04:08.0") { $0.enable = 1 }
        b.dev("0000:06:00.0", 0x8086, 0x1533, 0x020000, driver: "igb", group: b.g(20), parent: "0000:04:10.0") { $0.enable = 1 }
    }

    static func sriov(_ b: Builder) {
        // SR-IOV: X710 PF with two VFs, the second on vfio-pci.
        b.dev("0000:00:1b.0", 0x8086, 0x7ac0, 0x060400, driver: "pcieport", group: b.g(21)) { $0.secondaryBus = 7 }
        b.dev("0000:07:00.0", 0x8086, 0x1572, 0x020000, driver: "i40e", group: b.g(22), parent: "0000:00:1b.0") {
            $0.sriov = .init(totalVFs: 64, numVFs: 2, autoprobe: true, vfDevice: 0x154c)
            $0.msixTableSize = 129
            $0.enable = 1
        }
        b.dev("0000:07:02.0", 0x8086, 0x154c, 0x020000, driver: "iavf", group: b.g(23), parent: "0000:00:1b.0") {
            $0.physicalFunction = PCIAddress("0000:07:00.0")
            $0.enable = 1
        }
        b.dev("0000:07:02.1", 0x8086, 0x154c, 0x020000, driver: b.grouped ? "vfio-pci" : nil, group: b.g(24), parent: "0000:00:1b.0") {
            $0.physicalFunction = PCIAddress("0000:07:00.0")
            if b.grouped {
                $0.vfioDevice = "vfio0"
                $0.driverOverride = "vfio-pci"
            }
        }
    }

    static func conventionalBridge(_ b: Builder) {
        // Conventional PCI bridge: the bridge and both devices behind it share group 25.
        b.dev("0000:00:1e.0", 0x8086, 0x244e, 0x060401, group: b.g(25)) {
            $0.secondaryBus = 8
            $0.express = false
            $0.resetMethods = nil
        }
        b.dev("0000:08:00.0", 0x1106, 0x3044, 0x0c0010, driver: "firewire_ohci", group: b.g(25), parent: "0000:00:1e.0") {
            $0.resetMethods = ["bus"]
            $0.express = false
        }
        b.dev("0000:08:01.0", 0x10ec, 0x8169, 0x020000, driver: "r8169", group: b.g(25), parent: "0000:00:1e.0") {
            $0.resetMethods = ["bus"]
            $0.express = false
        }
    }

    static func chipset(_ b: Builder) {
        // Chipset: LPC, audio, SMBus and SPI share group 12.
        b.dev("0000:00:1f.0", 0x8086, 0x7a84, 0x060100, group: b.g(12)) {
            $0.multiFunction = true
            $0.resetMethods = nil
        }
        b.dev("0000:00:1f.3", 0x8086, 0x7ad0, 0x040300, driver: "snd_hda_intel", group: b.g(12)) { $0.multiFunction = true }
        b.dev("0000:00:1f.4", 0x8086, 0x7aa3, 0x0c0500, driver: "i801_smbus", group: b.g(12)) { $0.multiFunction = true }
        b.dev("0000:00:1f.5", 0x8086, 0x7aa4, 0x0c8000, driver: "intel-spi", group: b.g(12)) { $0.multiFunction = true }
    }

    /// What the layout was built to be.
    public var truth: FixtureTruth {
        switch self {
        case .desktop:
            FixtureTruth(
                deviceCount: 24,
                groups: [
                    0: ["0000:00:00.0"], 1: ["0000:00:01.0", "0000:01:00.0", "0000:01:00.1"],
                    12: ["0000:00:1f.0", "0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.5"],
                    13: ["0000:00:1d.0"], 14: ["0000:02:00.0"], 15: ["0000:00:1c.0"], 16: ["0000:03:00.0"], 17: ["0000:04:08.0"],
                    18: ["0000:04:10.0"], 19: ["0000:05:00.0"], 20: ["0000:06:00.0"], 21: ["0000:00:1b.0"], 22: ["0000:07:00.0"],
                    23: ["0000:07:02.0"], 24: ["0000:07:02.1"], 25: ["0000:00:1e.0", "0000:08:00.0", "0000:08:01.0"],
                ],
                blockers: [
                    0: [], 1: ["0000:01:00.0", "0000:01:00.1"], 12: ["0000:00:1f.3", "0000:00:1f.4", "0000:00:1f.5"], 13: [], 14: ["0000:02:00.0"],
                    15: [], 16: [], 17: [], 18: [], 19: ["0000:05:00.0"], 20: ["0000:06:00.0"], 21: [], 22: ["0000:07:00.0"],
                    23: ["0000:07:02.0"], 24: [], 25: ["0000:08:00.0", "0000:08:01.0"],
                ],
                ungrouped: ["0000:00:08.0"],
                vfioBound: ["0000:07:02.1"],
                bridges: ["0000:00:01.0", "0000:00:1d.0", "0000:00:1c.0", "0000:03:00.0", "0000:04:08.0", "0000:04:10.0", "0000:00:1b.0", "0000:00:1e.0"])
        case .noIOMMU:
            FixtureTruth(
                deviceCount: 24, groups: [:], blockers: [:],
                ungrouped: [], vfioBound: [],
                bridges: ["0000:00:01.0", "0000:00:1d.0", "0000:00:1c.0", "0000:03:00.0", "0000:04:08.0", "0000:04:10.0", "0000:00:1b.0", "0000:00:1e.0"])
        }
    }
}

public struct FixtureTruth: Sendable {
    public var deviceCount: Int
    /// group → member addresses
    public var groups: [Int: [String]]
    /// group → members that block viability (empty: viable)
    public var blockers: [Int: [String]]
    /// functions with no group while the IOMMU is on
    public var ungrouped: [String]
    public var vfioBound: [String]
    public var bridges: [String]
}

/// What a reader says about a layout, in the terms of its truth, so that every reader (the
/// model's inventory, `list --json`) is held to the same facts: `layout.expectedFacts(host)`.
public struct LayoutFacts: Equatable, Sendable {
    public struct Device: Equatable, Sendable {
        public var driver: String?
        public var group: Int?
        /// Four lowercase hex digits, as `list --json` prints it.
        public var vendor: String
        public var isBridge: Bool
        public var vfioBound: Bool

        public init(driver: String?, group: Int?, vendor: String, isBridge: Bool, vfioBound: Bool) {
            self.driver = driver
            self.group = group
            self.vendor = vendor
            self.isBridge = isBridge
            self.vfioBound = vfioBound
        }
    }

    public struct Group: Equatable, Sendable {
        /// Sorted.
        public var members: [String]
        public var blockers: [String]
        public var viable: Bool

        public init(members: [String], blockers: [String], viable: Bool) {
            self.members = members
            self.blockers = blockers
            self.viable = viable
        }
    }

    public var iommuEnabled: Bool
    /// By address (`0000:01:00.0`).
    public var devices: [String: Device]
    public var groups: [Int: Group]

    public init(iommuEnabled: Bool, devices: [String: Device], groups: [Int: Group]) {
        self.iommuEnabled = iommuEnabled
        self.devices = devices
        self.groups = groups
    }
}

extension FixtureLayout {
    /// The facts `host` (built from this layout) was made to show.
    public func expectedFacts(_ host: FixtureHost) -> LayoutFacts {
        let truth = truth
        var devices: [String: LayoutFacts.Device] = [:]
        for (address, spec) in host.specs {
            let name = address.description
            devices[name] = LayoutFacts.Device(
                driver: spec.driver, group: spec.iommuGroup, vendor: hexString(UInt32(spec.vendor), width: 4),
                isBridge: truth.bridges.contains(name), vfioBound: truth.vfioBound.contains(name))
        }
        var groups: [Int: LayoutFacts.Group] = [:]
        for (id, members) in truth.groups {
            let blockers = truth.blockers[id] ?? []
            groups[id] = LayoutFacts.Group(members: members.sorted(), blockers: blockers, viable: blockers.isEmpty)
        }
        return LayoutFacts(iommuEnabled: !truth.groups.isEmpty, devices: devices, groups: groups)
    }
}

extension FixtureLayout {
    /// The desktop layout plus what an Intel host with a working IOMMU shows outside the PCI tree:
    /// a DMAR unit with its ECAP register, the command line, remapped interrupt chips and a
    /// module list for the running kernel.
    public static func intelHost(ecap: String = "0xf0050aa", remapped: Bool = true, cmdline: String = "intel_iommu=on iommu=pt") -> FixtureHost {
        let host = FixtureLayout.desktop.build()
        host.write("/sys/class/iommu/dmar0/intel-iommu/ecap", ecap + "\n")
        host.write("/proc/cmdline", cmdline + "\n")
        host.write(
            "/proc/interrupts",
            remapped ? "  24:  0  IR-PCI-MSI-0000:00:02.0  0-edge  nvme0q0\n" : "  24:  0  PCI-MSI-0000:00:02.0  0-edge  nvme0q0\n")
        host.write("/proc/sys/kernel/osrelease", "6.12.0-test\n")
        host.write("/lib/modules/6.12.0-test/modules.dep", "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n")
        return host
    }
}
