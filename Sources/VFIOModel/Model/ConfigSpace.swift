/// A function's configuration space (as libpci reads it) and what vfioctl decodes from it:
/// the capability lists, MSI/MSI-X, the PCI Express link and FLR support, and ACS. Pure: the
/// bytes come from libpci (sysfs `config` or an `lspci -x` dump).
public struct ConfigSpace: Sendable, Equatable {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Unprivileged readers see only the first 64 bytes of `config`; capabilities live beyond.
    public var hasCapabilityArea: Bool { bytes.count >= 256 }
    public var hasExtendedArea: Bool { bytes.count >= 4096 }

    public func u8(_ offset: Int) -> UInt8? { offset >= 0 && offset < bytes.count ? bytes[offset] : nil }
    public func u16(_ offset: Int) -> UInt16? {
        guard offset >= 0, offset + 1 < bytes.count else { return nil }
        return UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }
    public func u32(_ offset: Int) -> UInt32? {
        guard let lo = u16(offset), let hi = u16(offset + 2) else { return nil }
        return UInt32(lo) | UInt32(hi) << 16
    }

    // MARK: - Capability lists

    public struct Capability: Sendable, Equatable, Codable {
        public var id: UInt16
        public var offset: Int
        public var extended: Bool
        public var name: String
    }

    /// Standard capabilities (from the pointer at 0x34) then extended ones (from 0x100). Loops
    /// and out-of-range pointers in a broken list end the walk instead of hanging it.
    public var capabilities: [Capability] {
        var result: [Capability] = []
        guard let status = u16(0x06), status & 0x10 != 0, hasCapabilityArea else { return result }
        let headerType = (u8(0x0e) ?? 0) & 0x7f
        var pointer = Int(u8(headerType == 2 ? 0x14 : 0x34) ?? 0) & 0xfc
        var seen = Set<Int>()
        while pointer >= 0x40, pointer < 256, seen.insert(pointer).inserted, let id = u8(pointer), let next = u8(pointer + 1) {
            result.append(Capability(id: UInt16(id), offset: pointer, extended: false, name: Self.standardName(id)))
            pointer = Int(next) & 0xfc
        }
        guard hasExtendedArea, result.contains(where: { $0.id == 0x10 }) else { return result }
        var ext = 0x100
        seen.removeAll()
        while ext >= 0x100, ext < 4096, seen.insert(ext).inserted, let header = u32(ext), header != 0, header != 0xffff_ffff {
            let id = UInt16(header & 0xffff)
            result.append(Capability(id: id, offset: ext, extended: true, name: Self.extendedName(id)))
            ext = Int(header >> 20) & 0xffc
        }
        return result
    }

    public func capability(_ id: UInt16, extended: Bool = false) -> Capability? {
        capabilities.first { $0.id == id && $0.extended == extended }
    }

    static func standardName(_ id: UInt8) -> String {
        switch id {
        case 0x01: "Power Management"
        case 0x02: "AGP"
        case 0x03: "Vital Product Data"
        case 0x04: "Slot Identification"
        case 0x05: "MSI"
        case 0x06: "CompactPCI Hot Swap"
        case 0x07: "PCI-X"
        case 0x08: "HyperTransport"
        case 0x09: "Vendor Specific"
        case 0x0a: "Debug Port"
        case 0x0b: "CompactPCI Central Resource Control"
        case 0x0c: "PCI Hot-Plug"
        case 0x0d: "Bridge Subsystem Vendor ID"
        case 0x0e: "AGP 8x"
        case 0x0f: "Secure Device"
        case 0x10: "PCI Express"
        case 0x11: "MSI-X"
        case 0x12: "SATA"
        case 0x13: "Advanced Features"
        case 0x14: "Enhanced Allocation"
        case 0x15: "Flattening Portal Bridge"
        default: "Capability 0x" + hexString(UInt32(id), width: 2)
        }
    }

    static func extendedName(_ id: UInt16) -> String {
        switch id {
        case 0x01: "Advanced Error Reporting"
        case 0x02, 0x09: "Virtual Channel"
        case 0x03: "Device Serial Number"
        case 0x04: "Power Budgeting"
        case 0x05: "Root Complex Link Declaration"
        case 0x06: "Root Complex Internal Link Control"
        case 0x07: "Root Complex Event Collector Endpoint Association"
        case 0x08: "Multi-Function VC Arbitration"
        case 0x0a: "Root Complex Register Block"
        case 0x0b: "Vendor Specific"
        case 0x0c: "Configuration Access Correlation"
        case 0x0d: "Access Control Services"
        case 0x0e: "Alternative Routing-ID Interpretation"
        case 0x0f: "Address Translation Service"
        case 0x10: "SR-IOV"
        case 0x11: "MR-IOV"
        case 0x12: "Multicast"
        case 0x13: "Page Request Interface"
        case 0x15: "Resizable BAR"
        case 0x16: "Dynamic Power Allocation"
        case 0x17: "TPH Requester"
        case 0x18: "Latency Tolerance Reporting"
        case 0x19: "Secondary PCI Express"
        case 0x1a: "Protocol Multiplexing"
        case 0x1b: "Process Address Space ID"
        case 0x1c: "LN Requester"
        case 0x1d: "Downstream Port Containment"
        case 0x1e: "L1 PM Substates"
        case 0x1f: "Precision Time Measurement"
        case 0x23: "Designated Vendor-Specific"
        case 0x24: "VF Resizable BAR"
        case 0x25: "Data Link Feature"
        case 0x26: "Physical Layer 16.0 GT/s"
        case 0x27: "Lane Margining at the Receiver"
        case 0x2a: "Physical Layer 32.0 GT/s"
        default: "Extended capability 0x" + hexString(UInt32(id), width: 4)
        }
    }

    // MARK: - Decoded facts

    public struct MSI: Sendable, Equatable, Codable {
        public var enabled: Bool
        /// Vectors the function can request (2^MMC).
        public var vectors: Int
        public var is64Bit: Bool
        public var perVectorMasking: Bool
    }

    public struct MSIX: Sendable, Equatable, Codable {
        public var enabled: Bool
        public var masked: Bool
        /// The table size, as vfio-pci reads it at open (and caches until the device is unbound).
        public var tableSize: Int
        public var tableBAR: Int
        public var tableOffset: UInt32
        public var pbaBAR: Int
        public var pbaOffset: UInt32
    }

    public struct Express: Sendable, Equatable, Codable {
        public var portType: String
        /// Device Capabilities bit 28: Function Level Reset.
        public var flr: Bool
        public var linkCapabilitySpeed: String?
        public var linkCapabilityWidth: Int?
        public var linkStatusSpeed: String?
        public var linkStatusWidth: Int?
    }

    public struct ACSBits: Sendable, Equatable, Codable {
        public var sourceValidation: Bool
        public var translationBlocking: Bool
        public var requestRedirect: Bool
        public var completionRedirect: Bool
        public var upstreamForwarding: Bool
        public var egressControl: Bool
        public var directTranslatedP2P: Bool

        init(_ v: UInt16) {
            sourceValidation = v & 0x01 != 0
            translationBlocking = v & 0x02 != 0
            requestRedirect = v & 0x04 != 0
            completionRedirect = v & 0x08 != 0
            upstreamForwarding = v & 0x10 != 0
            egressControl = v & 0x20 != 0
            directTranslatedP2P = v & 0x40 != 0
        }

        /// lspci's spelling, e.g. `SrcValid+ TransBlk+ ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-`.
        public var lspciText: String {
            func f(_ name: String, _ on: Bool) -> String { name + (on ? "+" : "-") }
            return [
                f("SrcValid", sourceValidation), f("TransBlk", translationBlocking), f("ReqRedir", requestRedirect),
                f("CmpltRedir", completionRedirect), f("UpstreamFwd", upstreamForwarding), f("EgressCtrl", egressControl),
                f("DirectTrans", directTranslatedP2P),
            ].joined(separator: " ")
        }
    }

    public struct ACS: Sendable, Equatable, Codable {
        public var capability: ACSBits
        public var control: ACSBits
        /// The controls that isolate peer-to-peer traffic (SV, RR, CR, UF) are all on.
        public var isolates: Bool {
            control.sourceValidation && control.requestRedirect && control.completionRedirect && control.upstreamForwarding
        }
    }

    public var msi: MSI? {
        guard let cap = capability(0x05), let control = u16(cap.offset + 2) else { return nil }
        return MSI(
            enabled: control & 1 != 0, vectors: 1 << Int((control >> 1) & 7), is64Bit: control & 0x80 != 0,
            perVectorMasking: control & 0x100 != 0)
    }

    public var msix: MSIX? {
        guard let cap = capability(0x11), let control = u16(cap.offset + 2), let table = u32(cap.offset + 4),
            let pba = u32(cap.offset + 8)
        else { return nil }
        return MSIX(
            enabled: control & 0x8000 != 0, masked: control & 0x4000 != 0, tableSize: Int(control & 0x7ff) + 1,
            tableBAR: Int(table & 7), tableOffset: table & ~7, pbaBAR: Int(pba & 7), pbaOffset: pba & ~7)
    }

    public static func linkSpeed(_ code: UInt32) -> String? {
        switch code {
        case 1: "2.5GT/s"
        case 2: "5GT/s"
        case 3: "8GT/s"
        case 4: "16GT/s"
        case 5: "32GT/s"
        case 6: "64GT/s"
        default: nil
        }
    }

    public var express: Express? {
        guard let cap = capability(0x10), let flags = u16(cap.offset + 2), let devCap = u32(cap.offset + 4) else { return nil }
        let type: String
        switch (flags >> 4) & 0xf {
        case 0: type = "Endpoint"
        case 1: type = "Legacy Endpoint"
        case 4: type = "Root Port"
        case 5: type = "Upstream Port"
        case 6: type = "Downstream Port"
        case 7: type = "PCI-Express to PCI/PCI-X Bridge"
        case 8: type = "PCI/PCI-X to PCI-Express Bridge"
        case 9: type = "Root Complex Integrated Endpoint"
        case 10: type = "Root Complex Event Collector"
        default: type = "Unknown type " + String((flags >> 4) & 0xf)
        }
        var express = Express(portType: type, flr: devCap & (1 << 28) != 0)
        // Integrated endpoints and event collectors have no link.
        if type != "Root Complex Integrated Endpoint", type != "Root Complex Event Collector",
            let linkCap = u32(cap.offset + 0x0c), let linkStatus = u16(cap.offset + 0x12)
        {
            express.linkCapabilitySpeed = Self.linkSpeed(linkCap & 0xf)
            express.linkCapabilityWidth = Int((linkCap >> 4) & 0x3f)
            express.linkStatusSpeed = Self.linkSpeed(UInt32(linkStatus & 0xf))
            express.linkStatusWidth = Int((linkStatus >> 4) & 0x3f)
        }
        return express
    }

    /// Advanced Features FLR (conventional PCI functions; the kernel's `af_flr`).
    public var advancedFeaturesFLR: Bool {
        guard let cap = capability(0x13), let caps = u8(cap.offset + 3) else { return false }
        return caps & 0x02 != 0
    }

    public var acs: ACS? {
        guard let cap = capability(0x0d, extended: true), let capability = u16(cap.offset + 4), let control = u16(cap.offset + 6) else {
            return nil
        }
        return ACS(capability: ACSBits(capability), control: ACSBits(control))
    }
}
