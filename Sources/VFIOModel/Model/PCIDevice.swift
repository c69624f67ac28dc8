/// One PCI function as sysfs (and libpci's ID database) describe it. A plain value: the reader
/// fills it, everything else only looks at it.
public struct PCIDevice: Sendable, Equatable, Codable {
    public var address: PCIAddress
    public var vendorID: UInt16
    public var deviceID: UInt16
    public var subsystemVendorID: UInt16?
    public var subsystemDeviceID: UInt16?
    /// 24-bit class code: base class, subclass, programming interface.
    public var classCode: UInt32
    public var revision: UInt8?
    /// Config-space header type with the multi-function bit masked off (0 normal, 1 bridge, 2 CardBus).
    public var headerType: UInt8?
    public var multiFunction: Bool
    public var driver: String?
    /// nil when unset (the kernel prints `(null)`).
    public var driverOverride: String?
    /// A driverctl override persisted in `/etc/driverctl.d/pci-<address>`: driverctl's udev rule
    /// re-applies it at the next hotplug or boot, undoing any other change.
    public var driverctlOverride: String?
    public var iommuGroup: Int?
    public var numaNode: Int?
    /// The reset methods the kernel offers, in priority order; nil when the attribute is hidden
    /// (the kernel hides it when the device supports no reset at all).
    public var resetMethods: [String]?
    public var bootVGA: Bool?
    /// The `enable` count: for a vfio-bound device, 1 means a process has it open.
    public var enableCount: Int?
    /// `vfioX` under `vfio-dev/`: present exactly while a vfio driver is bound (6.1+).
    public var vfioDeviceName: String?
    /// The upstream bridge or port, if the device sits behind one.
    public var parent: PCIAddress?
    public var sriov: SRIOV?
    /// For a VF: its PF.
    public var physicalFunction: PCIAddress?
    public var names: Names

    public struct SRIOV: Sendable, Equatable, Codable {
        public var totalVFs: Int
        public var numVFs: Int
        public var driversAutoprobe: Bool?
        public var vfDeviceID: UInt16?
        public var virtualFunctions: [PCIAddress]

        public init(totalVFs: Int, numVFs: Int, driversAutoprobe: Bool? = nil, vfDeviceID: UInt16? = nil, virtualFunctions: [PCIAddress]) {
            self.totalVFs = totalVFs
            self.numVFs = numVFs
            self.driversAutoprobe = driversAutoprobe
            self.vfDeviceID = vfDeviceID
            self.virtualFunctions = virtualFunctions
        }
    }

    public struct Names: Sendable, Equatable, Codable {
        public var vendor: String?
        public var device: String?
        public var subsystem: String?
        public var className: String?
        public init(vendor: String? = nil, device: String? = nil, subsystem: String? = nil, className: String? = nil) {
            self.vendor = vendor
            self.device = device
            self.subsystem = subsystem
            self.className = className
        }
    }

    public init(
        address: PCIAddress, vendorID: UInt16, deviceID: UInt16, subsystemVendorID: UInt16? = nil,
        subsystemDeviceID: UInt16? = nil, classCode: UInt32, revision: UInt8? = nil, headerType: UInt8? = nil,
        multiFunction: Bool = false, driver: String? = nil, driverOverride: String? = nil, iommuGroup: Int? = nil,
        numaNode: Int? = nil, resetMethods: [String]? = nil, bootVGA: Bool? = nil, enableCount: Int? = nil,
        vfioDeviceName: String? = nil, parent: PCIAddress? = nil, sriov: SRIOV? = nil,
        physicalFunction: PCIAddress? = nil, names: Names = Names()
    ) {
        self.address = address
        self.vendorID = vendorID
        self.deviceID = deviceID
        self.subsystemVendorID = subsystemVendorID
        self.subsystemDeviceID = subsystemDeviceID
        self.classCode = classCode
        self.revision = revision
        self.headerType = headerType
        self.multiFunction = multiFunction
        self.driver = driver
        self.driverOverride = driverOverride
        self.iommuGroup = iommuGroup
        self.numaNode = numaNode
        self.resetMethods = resetMethods
        self.bootVGA = bootVGA
        self.enableCount = enableCount
        self.vfioDeviceName = vfioDeviceName
        self.parent = parent
        self.sriov = sriov
        self.physicalFunction = physicalFunction
        self.names = names
    }

    public var baseClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 16) }
    public var subClass: UInt8 { UInt8(truncatingIfNeeded: classCode >> 8) }

    /// PCI-PCI and CardBus bridges: vfio-pci refuses them (it only takes header type 0).
    public var isBridge: Bool {
        if let headerType { return headerType != 0 }
        return baseClass == 0x06 && (subClass == 0x04 || subClass == 0x07)
    }

    /// Bound to vfio-pci or a vfio variant driver. `vfio-dev/` is the kernel's own answer; the
    /// name check covers kernels before 6.1, which do not create it.
    public var isVFIOBound: Bool {
        vfioDeviceName != nil || DriverName.isVFIO(driver)
    }

    /// `vvvv:dddd`
    public var idPair: String {
        hexString(UInt32(vendorID), width: 4) + ":" + hexString(UInt32(deviceID), width: 4)
    }

    public var classCodeHex: String { hexString(classCode, width: 6) }
}

/// Facts about driver names that the kernel does not expose in sysfs.
public enum DriverName {
    public static let vfioPCI = "vfio-pci"
    /// `--driver auto`: the VFIO driver whose `vfio_pci:` alias matches best (`VFIODriverChoice`).
    public static let auto = "auto"
    /// Drivers that set `driver_managed_dma` and so never block group viability besides vfio ones
    /// (docs/kernel-notes.md, "Group viability"). `pci-pf-stub` and `shpchp` are deliberately absent.
    public static let dmaManagedHostDrivers: Set<String> = ["pci-stub", "pcieport"]

    /// vfio-pci and its variants (`mlx5_vfio_pci`, `xe-vfio-pci`, …) by name.
    public static func isVFIO(_ name: String?) -> Bool {
        guard let name else { return false }
        return name == vfioPCI || name.hasSuffix("_vfio_pci") || name.hasSuffix("-vfio-pci")
    }
}
