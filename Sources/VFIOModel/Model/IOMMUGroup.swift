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
    /// with `0x%016llx 0x%016llx %s`); a line that does not parse is skipped. Scanned in place,
    /// word by word: a host has a file per group, and splitting each into arrays of lines and
    /// words cost more than reading it.
    public static func parseReservedRegions(bytes: UnsafeBufferPointer<UInt8>) -> [ReservedRegion] {
        func blank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") }
        /// A hex address with an optional `0x`.
        func address(_ word: Slice<UnsafeBufferPointer<UInt8>>) -> UInt64? {
            let prefixed = word.count > 2 && word.first == UInt8(ascii: "0") && word.dropFirst().first.map { $0 | 0x20 } == UInt8(ascii: "x")
            return parseASCIIHex64(prefixed ? word.dropFirst(2) : word, maxDigits: 16)
        }
        var regions: [ReservedRegion] = []
        var lineStart = bytes.startIndex
        while lineStart < bytes.endIndex {
            let lineEnd = bytes[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            var cursor = lineStart
            lineStart = lineEnd + 1
            /// The next blank-separated word of the line, if any.
            func nextWord() -> Slice<UnsafeBufferPointer<UInt8>>? {
                while cursor < lineEnd, blank(bytes[cursor]) { cursor += 1 }
                guard cursor < lineEnd else { return nil }
                let first = cursor
                while cursor < lineEnd, !blank(bytes[cursor]) { cursor += 1 }
                return bytes[first..<cursor]
            }
            guard let startWord = nextWord(), let endWord = nextWord(), let typeWord = nextWord(),
                let start = address(startWord), let end = address(endWord)
            else { continue }
            // The type: the rest of the line, its words joined by one space (one word as printed).
            var type = String(decoding: typeWord, as: UTF8.self)
            while let more = nextWord() {
                type += " "
                type += String(decoding: more, as: UTF8.self)
            }
            regions.append(ReservedRegion(start: start, end: end, type: type))
        }
        return regions
    }
}
