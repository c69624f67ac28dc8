/// What kind of IOMMU a unit under `/sys/class/iommu` is. The unit's name says little (a
/// virtio-iommu registers under its PCI function's address, SMMUs under their MMIO address),
/// so the kind comes from what the kernel attaches to the unit: its attribute directories and
/// the driver of the device its `device` link points at (docs/kernel-notes.md).
public enum IOMMUKind: String, Sendable, Equatable, Codable, CaseIterable {
    case intelVTd = "intel-vt-d"
    case amdVi = "amd-vi"
    case virtio = "virtio-iommu"
    case armSMMUv3 = "arm-smmu-v3"
    case armSMMU = "arm-smmu"
    case s390 = "s390"
    case powerTCE = "ppc-tce"
    /// A driver vfioctl knows nothing particular about (Apple DART, Rockchip, ...).
    case other = "other"
    case unknown = "unknown"

    public var title: String {
        switch self {
        case .intelVTd: "Intel VT-d"
        case .amdVi: "AMD-Vi"
        case .virtio: "virtio-iommu"
        case .armSMMUv3: "ARM SMMUv3"
        case .armSMMU: "ARM SMMU"
        case .s390: "s390 PCI IOMMU"
        case .powerTCE: "POWER TCE"
        case .other: "IOMMU"
        case .unknown: "IOMMU"
        }
    }

    /// The kind of `unit`, from what it is rather than what it is called. Only s390 and POWER,
    /// whose units have neither a driver-bound parent nor attributes of their own, are told by
    /// the name the kernel gives them.
    public static func identify(_ unit: IOMMUUnit) -> IOMMUKind {
        if unit.hasIntelAttributes { return .intelVTd }
        if unit.hasAMDAttributes { return .amdVi }
        switch unit.parentDriver {
        case "virtio_iommu"?: return .virtio
        case "arm-smmu-v3"?: return .armSMMUv3
        case "arm-smmu"?, "qcom-smmu"?: return .armSMMU
        case .some: return .other
        case nil: break
        }
        if unit.name.hasPrefix("s390-iommu.") { return .s390 }
        if unit.name.hasPrefix("iommu-phb") { return .powerTCE }
        return .unknown
    }
}

/// One unit under `/sys/class/iommu/NAME`, as read: plain facts, no judgement.
public struct IOMMUUnit: Sendable, Equatable {
    public var name: String
    /// The device the unit's `device` link points at, as a sysfs path below `/sys/devices`
    /// (nil: the unit has no parent, as Intel DMAR units).
    public var parentDevice: String?
    /// The driver bound to that device (`virtio_iommu`, `arm-smmu-v3`, ...).
    public var parentDriver: String?
    /// The PCI function the parent device is, or hangs below (virtio-iommu: its virtio-pci
    /// function; AMD-Vi: the IOMMU's own function).
    public var pciFunction: PCIAddress?
    /// Intel: `intel-iommu/` exists; `cap` and `ecap` are its capability registers.
    public var hasIntelAttributes: Bool
    public var intelCAP: UInt64?
    public var intelECAP: UInt64?
    /// AMD: `amd-iommu/` exists; `features` is the extended feature register.
    public var hasAMDAttributes: Bool
    public var amdFeatures: UInt64?

    public init(
        name: String, parentDevice: String? = nil, parentDriver: String? = nil, pciFunction: PCIAddress? = nil, intelCAP: UInt64? = nil,
        intelECAP: UInt64? = nil, hasIntelAttributes: Bool? = nil, hasAMDAttributes: Bool = false, amdFeatures: UInt64? = nil
    ) {
        self.name = name
        self.parentDevice = parentDevice
        self.parentDriver = parentDriver
        self.pciFunction = pciFunction
        self.intelCAP = intelCAP
        self.intelECAP = intelECAP
        self.hasIntelAttributes = hasIntelAttributes ?? (intelECAP != nil || intelCAP != nil)
        self.hasAMDAttributes = hasAMDAttributes || amdFeatures != nil
        self.amdFeatures = amdFeatures
    }

    public var kind: IOMMUKind { IOMMUKind.identify(self) }

    /// Intel ECAP bit 3 (IR): the unit can remap interrupts. nil when the register is unknown.
    public var intelCanRemap: Bool? { intelECAP.map { $0 & 0x8 != 0 } }

    /// How the unit is named in messages: `virtio-iommu 0000:00:1e.0`, `Intel VT-d dmar0`.
    public var label: String {
        let kind = self.kind
        if kind == .other, let driver = parentDriver { return driver + " " + name }
        return kind.title + " " + name
    }
}

/// What `/proc/interrupts` says about the interrupt chips: x86 names the chips behind an
/// interrupt-remapping unit `IR-...` (IR-PCI-MSI, IR-IO-APIC); an arm64 GICv3 ITS appears as
/// `ITS-MSI` / `ITS-PCI-MSIX-...`.
public struct InterruptChips: Sendable, Equatable {
    public var readable: Bool
    public var remapped: Bool
    public var gicITS: Bool
    /// An x86 chip (IO-APIC, PCI-MSI over the x86 vector domain) was seen.
    public var x86: Bool

    public init(readable: Bool = false, remapped: Bool = false, gicITS: Bool = false, x86: Bool = false) {
        self.readable = readable
        self.remapped = remapped
        self.gicITS = gicITS
        self.x86 = x86
    }

    public static func parse(_ text: Substring) -> InterruptChips {
        var chips = InterruptChips(readable: true)
        for token in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }) {
            if token.hasPrefix("IR-") { chips.remapped = true }
            if token.hasPrefix("ITS-") { chips.gicITS = true }
            // IO-APIC chips and the local APIC timer row exist only on x86.
            if token.hasSuffix("IO-APIC") || token == "LOC:" { chips.x86 = true }
        }
        return chips
    }
}

/// Whether MSIs of devices behind a unit are isolated, which is what VFIO checks before it
/// lets a group into a container or an iommufd (`iommu_group_has_isolated_msi()`).
public enum MSIIsolation: Sendable, Equatable {
    /// Isolated; the text says by what.
    case isolated(String)
    /// Not isolated; the text says why.
    case missing(String)
    /// Nothing readable decides it.
    case unknown(String)

    public var text: String {
        switch self {
        case .isolated(let text), .missing(let text), .unknown(let text): text
        }
    }

    public var isMissing: Bool {
        if case .missing = self { return true }
        return false
    }
}

/// The IOMMU side of a host: its units, the interrupt chips, the switches VFIO reads, and which
/// unit each group sits behind. Read by `IOMMUPlatformReader`; the verdicts below are pure.
public struct IOMMUPlatform: Sendable, Equatable {
    public var units: [IOMMUUnit] = []
    public var interrupts = InterruptChips()
    /// `/proc/sys/kernel/arch` (`x86_64`, `aarch64`); nil when unreadable.
    public var architecture: String?
    /// `/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts`; nil: not loaded.
    public var type1AllowUnsafe: Bool?
    /// `/sys/module/iommufd/parameters/allow_unsafe_interrupts`; nil: not loaded.
    public var iommufdAllowUnsafe: Bool?
    public var commandLine: [String] = []
    /// Group id → the name of the unit its first member's `iommu` link points at.
    public var groupUnits: [Int: String] = [:]

    public init(
        units: [IOMMUUnit] = [], interrupts: InterruptChips = InterruptChips(), architecture: String? = nil, type1AllowUnsafe: Bool? = nil,
        iommufdAllowUnsafe: Bool? = nil, commandLine: [String] = [], groupUnits: [Int: String] = [:]
    ) {
        self.units = units
        self.interrupts = interrupts
        self.architecture = architecture
        self.type1AllowUnsafe = type1AllowUnsafe
        self.iommufdAllowUnsafe = iommufdAllowUnsafe
        self.commandLine = commandLine
        self.groupUnits = groupUnits
    }

    public static let type1Parameter = "vfio_iommu_type1.allow_unsafe_interrupts"
    public static let iommufdParameter = "iommufd.allow_unsafe_interrupts"

    /// Whether the host is x86: from the kernel's own `arch`, else from the kinds of units and
    /// chips seen.
    public var isX86: Bool {
        if let architecture { return architecture == "x86_64" || architecture.hasPrefix("i") && architecture.hasSuffix("86") }
        return interrupts.x86 || interrupts.remapped || units.contains { $0.kind == .intelVTd || $0.kind == .amdVi }
    }

    /// A module parameter as it will apply: its sysfs value when the module is loaded, else
    /// what the kernel command line sets for when it loads (the default is off).
    func effective(_ loaded: Bool?, _ parameter: String) -> Bool {
        if let loaded { return loaded }
        for argument in commandLine where argument.hasPrefix(parameter + "=") {
            let value = argument.dropFirst(parameter.count + 1)
            return value == "1" || value == "Y" || value == "y"
        }
        return false
    }

    public var type1Allows: Bool { effective(type1AllowUnsafe, Self.type1Parameter) }
    public var iommufdAllows: Bool { effective(iommufdAllowUnsafe, Self.iommufdParameter) }

    /// Whether MSIs behind `unit` are isolated (docs/kernel-notes.md, "IOMMU units and interrupt
    /// remapping").
    public func isolation(of unit: IOMMUUnit) -> MSIIsolation {
        let chips = interrupts
        switch unit.kind {
        case .intelVTd:
            if unit.intelCanRemap == false { return .missing("the VT-d unit cannot remap interrupts (ECAP bit 3, IR, is clear)") }
            if chips.remapped { return .isolated("interrupt remapping is on (IR- chips in /proc/interrupts)") }
            guard chips.readable else { return .unknown("/proc/interrupts is unreadable") }
            return .missing("the VT-d unit can remap interrupts but the kernel did not turn it on (no IR- chips in /proc/interrupts)")
        case .amdVi:
            if chips.remapped { return .isolated("interrupt remapping is on (IR- chips in /proc/interrupts)") }
            guard chips.readable else { return .unknown("/proc/interrupts is unreadable") }
            return .missing("AMD-Vi interrupt remapping is off (no IR- chips in /proc/interrupts)")
        case .virtio, .armSMMU, .armSMMUv3, .other:
            // These units translate DMA only. On x86 nothing behind them remaps MSIs (the MSI
            // window is a bypass region); on arm64 a GICv3 ITS isolates them by device ID.
            if isX86 {
                if chips.remapped { return .isolated("interrupt remapping is on (IR- chips in /proc/interrupts)") }
                return .missing("\(unit.kind == .other ? "this IOMMU" : unit.kind.title) remaps no interrupts on x86")
            }
            if chips.gicITS { return .isolated("the GICv3 ITS isolates MSIs (ITS chips in /proc/interrupts)") }
            guard chips.readable else { return .unknown("/proc/interrupts is unreadable") }
            return .missing("no interrupt controller that isolates MSIs (no ITS chips in /proc/interrupts)")
        case .s390:
            return .isolated("s390 isolates MSIs in firmware")
        case .powerTCE, .unknown:
            return .unknown("vfioctl cannot tell for this IOMMU")
        }
    }

    /// The unit a group sits behind, when its members name one.
    public func unit(ofGroup id: Int) -> IOMMUUnit? {
        groupUnits[id].flatMap { name in units.first { $0.name == name } }
    }

    /// Whether VFIO will attach group `id` (type1 `VFIO_SET_IOMMU`, iommufd bind).
    public func attachVerdict(group id: Int) -> AttachVerdict {
        let behind = unit(ofGroup: id).map { [$0] } ?? units
        guard !behind.isEmpty else { return AttachVerdict(status: .unknown, iommu: nil, isolation: .unknown("no IOMMU unit is listed")) }
        let isolations = behind.map { ($0, isolation(of: $0)) }
        let unitKind = behind.count == 1 ? behind[0].kind : nil
        if let missing = isolations.first(where: { $0.1.isMissing }) {
            let status: AttachVerdict.Status = type1Allows ? .unsafe : .refused
            return AttachVerdict(status: status, iommu: missing.0.kind, isolation: missing.1, iommufdRefuses: iommufdAllowUnsafe != nil && !iommufdAllows)
        }
        if let unknown = isolations.first(where: { if case .unknown = $0.1 { true } else { false } }) {
            return AttachVerdict(status: .unknown, iommu: unknown.0.kind, isolation: unknown.1)
        }
        return AttachVerdict(status: .ok, iommu: unitKind, isolation: isolations[0].1)
    }
}

/// Whether VFIO will attach a group on this host, and what to say about it.
public struct AttachVerdict: Sendable, Equatable {
    public enum Status: String, Sendable, Codable {
        /// MSIs are isolated: VFIO attaches.
        case ok
        /// Not isolated, but allow_unsafe_interrupts is on: VFIO attaches anyway.
        case unsafe
        /// Not isolated and allow_unsafe_interrupts is off: VFIO_SET_IOMMU / the iommufd bind fails with EPERM.
        case refused
        /// vfioctl cannot tell.
        case unknown
    }

    public var status: Status
    public var iommu: IOMMUKind?
    public var isolation: MSIIsolation
    /// With `.unsafe`: iommufd is loaded and its own switch is off, so iommufd (and the VFIO
    /// device cdev) still refuses.
    public var iommufdRefuses = false

    public init(status: Status, iommu: IOMMUKind?, isolation: MSIIsolation, iommufdRefuses: Bool = false) {
        self.status = status
        self.iommu = iommu
        self.isolation = isolation
        self.iommufdRefuses = iommufdRefuses
    }

    /// The warning `bind` and `show` give for a viable group, or nil when there is none.
    public var warning: String? {
        switch status {
        case .refused:
            "VFIO will refuse to attach it here (no interrupt remapping; \(IOMMUPlatform.type1Parameter)=1 to accept the risk)"
        case .unsafe:
            "VFIO attaches it only because \(IOMMUPlatform.type1Parameter) is on (no interrupt remapping: the device can forge MSIs)"
                + (iommufdRefuses ? "; iommufd still refuses it (\(IOMMUPlatform.iommufdParameter)=1)" : "")
        case .ok, .unknown:
            nil
        }
    }

    /// What to do about it.
    public var fix: String? {
        switch status {
        case .refused:
            "echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts (or \(IOMMUPlatform.type1Parameter)=1 on the kernel command line; \(IOMMUPlatform.iommufdParameter)=1 for iommufd), at the cost that a device in the group can raise any interrupt on the host by a DMA write to the MSI window"
        case .unsafe, .ok, .unknown:
            nil
        }
    }
}
