import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

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
    /// PCI Express capability (conventional PCI functions have none).
    public var express = true
    /// MSI-X table size; nil for no MSI-X capability.
    public var msixTableSize: Int? = nil
    /// ACS control bits for ports (an ACS capability with every bit capable); nil for none.
    public var acsControl: UInt16? = nil
    /// Negotiated link: speed code (1 = 2.5GT/s … 4 = 16GT/s) and width.
    public var link: (speed: UInt8, width: UInt8) = (3, 4)

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

    /// Config space as `config` reads on a host with root: 4 KiB for PCIe functions, 256 bytes for
    /// conventional ones (the first 64 bytes are what an unprivileged reader sees). Capabilities:
    /// power management, MSI-X when set, PCI Express (FLR when `resetMethods` has `flr`), and an
    /// extended ACS capability when `acsControl` is set.
    public func configSpace() -> [UInt8] {
        var c = [UInt8](repeating: 0, count: express ? 4096 : 256)
        func put16(_ offset: Int, _ v: UInt16) {
            c[offset] = UInt8(v & 0xff)
            c[offset + 1] = UInt8(v >> 8)
        }
        func put32(_ offset: Int, _ v: UInt32) {
            put16(offset, UInt16(v & 0xffff))
            put16(offset + 2, UInt16(v >> 16))
        }
        // Capability list: PM at 0x40 → MSI-X at 0x50 → PCIe at 0x60.
        put16(0x06, 0x0010)
        c[0x34] = 0x40
        c[0x40] = 0x01
        put16(0x42, 0x0003)
        var last = 0x40
        if let size = msixTableSize {
            c[last + 1] = 0x50
            c[0x50] = 0x11
            put16(0x52, UInt16(size - 1) | (driver != nil ? 0x8000 : 0))
            put32(0x54, 0x0000_2000)
            put32(0x58, 0x0000_3000)
            last = 0x50
        }
        if express {
            c[last + 1] = 0x60
            c[0x60] = 0x10
            let portType: UInt16 = headerType == 1 ? (parent == nil ? 4 : 6) : 0
            put16(0x62, 0x0002 | portType << 4)
            put32(0x64, (resetMethods?.contains("flr") ?? false) ? 1 << 28 : 0)
            put32(0x6c, UInt32(link.speed) | UInt32(link.width) << 4)
            put16(0x72, UInt16(link.speed) | UInt16(link.width) << 4)
            if let control = acsControl {
                put32(0x100, 0x0001_000d)
                put16(0x104, 0x007f)
                put16(0x106, control)
            }
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
