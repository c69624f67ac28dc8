/// An IOMMU group as `/sys/kernel/iommu_groups/N` describes it.
public struct IOMMUGroup: Sendable, Equatable, Codable {
    public var id: Int
    /// PCI members, sorted.
    public var members: [PCIAddress]
    /// Members that are not PCI functions (platform devices), by kernel name.
    public var otherMembers: [String]
    /// The default domain type: `DMA`, `DMA-FQ`, `identity`, `blocked`, `unmanaged`, `unknown`.
    public var type: String?
    public var reservedRegions: [ReservedRegion]
    /// A group vfio made for a device no IOMMU covers (no-IOMMU mode: `name` is
    /// `vfio-noiommu`, the node `/dev/vfio/noiommu-N`): no DMA isolation at all.
    public var noIOMMU: Bool

    public struct ReservedRegion: Sendable, Equatable, Codable {
        public var start: UInt64
        public var end: UInt64
        public var type: String
        public init(start: UInt64, end: UInt64, type: String) {
            self.start = start
            self.end = end
            self.type = type
        }
    }

    public init(
        id: Int, members: [PCIAddress], otherMembers: [String] = [], type: String? = nil, reservedRegions: [ReservedRegion] = [], noIOMMU: Bool = false
    ) {
        self.noIOMMU = noIOMMU
        self.id = id
        self.members = members
        self.otherMembers = otherMembers
        self.type = type
        self.reservedRegions = reservedRegions
    }

    /// The `name` vfio gives the groups it makes in no-IOMMU mode (drivers/vfio/group.c).
    public static let noIOMMUName = "vfio-noiommu"

    /// Parses `reserved_regions` lines: `0x00000000fee00000 0x00000000feefffff msi`.
    public static func parseReservedRegions(_ text: String) -> [ReservedRegion] {
        var text = text
        return text.withUTF8 { parseReservedRegions(bytes: $0) }
    }

    /// `reserved_regions` from its bytes: lines of `0xSTART 0xEND TYPE` (iommu.c prints them
    /// with `0x%016llx 0x%016llx %s`); a line that does not parse is skipped. Byte-wise, because
    /// a host has a file per group and splitting it as `String`s cost more than reading it.
    public static func parseReservedRegions(bytes: UnsafeBufferPointer<UInt8>) -> [ReservedRegion] {
        var regions: [ReservedRegion] = []
        var i = 0
        let n = bytes.count
        func skipBlanks() { while i < n, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 } }
        /// A hex number (optional `0x`) ending at a blank or the line's end.
        func hex() -> UInt64? {
            if i + 1 < n, bytes[i] == UInt8(ascii: "0"), bytes[i + 1] | 0x20 == UInt8(ascii: "x") { i += 2 }
            var value: UInt64 = 0
            var digits = 0
            while i < n {
                let b = bytes[i]
                let digit: UInt8
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"): return digits > 0 ? value : nil
                default: return nil
                }
                guard digits < 16 else { return nil }
                value = value << 4 | UInt64(digit)
                digits += 1
                i += 1
            }
            return digits > 0 ? value : nil
        }
        while i < n {
            let lineEnd = bytes[i...].firstIndex(of: UInt8(ascii: "\n")) ?? n
            defer { i = lineEnd + 1 }
            skipBlanks()
            guard let start = hex() else { continue }
            skipBlanks()
            guard let end = hex() else { continue }
            // The type: the rest of the line, its words joined by one space.
            var type: [UInt8] = []
            var j = i
            while j < lineEnd {
                let b = bytes[j]
                j += 1
                if b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") {
                    if type.last != UInt8(ascii: " "), !type.isEmpty { type.append(UInt8(ascii: " ")) }
                } else {
                    type.append(b)
                }
            }
            if type.last == UInt8(ascii: " ") { type.removeLast() }
            guard !type.isEmpty else { continue }
            regions.append(ReservedRegion(start: start, end: end, type: String(decoding: type, as: UTF8.self)))
        }
        return regions
    }
}
