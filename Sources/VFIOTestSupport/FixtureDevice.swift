import VFIOKit

/// What a fixture function looks like. Defaults make a plain endpoint.
public struct FixtureDevice: Sendable {
    public var address: PCIAddress
    public var vendor: UInt16
    public var device: UInt16
    public var subsystemVendor: UInt16
    public var subsystemDevice: UInt16
    public var classCode: UInt32
    public var revision: UInt8 = 0
    /// 0 endpoint, 1 PCI-PCI bridge.
    public var headerType: UInt8 = 0
    public var multiFunction = false
    public var driver: String?
    public var driverOverride: String?
    public var iommuGroup: Int?
    public var numaNode = -1
    public var resetMethods: [String]? = ["flr", "bus"]
    public var bootVGA: Bool?
    public var enable = 0
    public var parent: PCIAddress?
    public var physicalFunction: PCIAddress?
    public var sriov: SRIOV?
    /// `vfioX` when the function is bound to a vfio driver (the kernel makes `vfio-dev/vfioX`).
    public var vfioDevice: String?
    /// Secondary/subordinate bus numbers for bridges.
    public var secondaryBus: UInt8 = 0

    public struct SRIOV: Sendable {
        public var totalVFs: Int
        public var numVFs: Int
        public var autoprobe = true
        public var vfDevice: UInt16
        public init(totalVFs: Int, numVFs: Int, autoprobe: Bool = true, vfDevice: UInt16) {
            self.totalVFs = totalVFs
            self.numVFs = numVFs
            self.autoprobe = autoprobe
            self.vfDevice = vfDevice
        }
    }

    public init(
        _ address: String, vendor: UInt16, device: UInt16, classCode: UInt32, subsystemVendor: UInt16? = nil,
        subsystemDevice: UInt16? = nil, driver: String? = nil, group: Int? = nil, parent: String? = nil
    ) {
        self.address = PCIAddress(address)!
        self.vendor = vendor
        self.device = device
        self.subsystemVendor = subsystemVendor ?? vendor
        self.subsystemDevice = subsystemDevice ?? device
        self.classCode = classCode
        self.driver = driver
        self.iommuGroup = group
        self.parent = parent.flatMap { PCIAddress($0) }
        if classCode >> 8 == 0x0604 { headerType = 1 }
    }

    /// A 4 KiB PCIe config space with the standard header filled in, as `config` reads on a host
    /// with root (the first 64 bytes are what an unprivileged reader sees).
    public func configSpace() -> [UInt8] {
        var c = [UInt8](repeating: 0, count: 256)
        func put16(_ offset: Int, _ v: UInt16) {
            c[offset] = UInt8(v & 0xff)
            c[offset + 1] = UInt8(v >> 8)
        }
        put16(0x00, vendor)
        put16(0x02, device)
        put16(0x04, enable > 0 ? 0x0006 : 0x0000)
        c[0x08] = revision
        c[0x09] = UInt8(classCode & 0xff)
        c[0x0a] = UInt8((classCode >> 8) & 0xff)
        c[0x0b] = UInt8((classCode >> 16) & 0xff)
        c[0x0e] = headerType | (multiFunction ? 0x80 : 0)
        if headerType == 0 {
            put16(0x2c, subsystemVendor)
            put16(0x2e, subsystemDevice)
        } else if headerType == 1 {
            c[0x18] = address.bus
            c[0x19] = secondaryBus
            c[0x1a] = secondaryBus
        }
        return c
    }
}
