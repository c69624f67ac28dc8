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
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 3,
                let start = UInt64(fields[0].dropFirst(fields[0].hasPrefix("0x") ? 2 : 0), radix: 16),
                let end = UInt64(fields[1].dropFirst(fields[1].hasPrefix("0x") ? 2 : 0), radix: 16)
            else { return nil }
            return ReservedRegion(start: start, end: end, type: fields[2...].joined(separator: " "))
        }
    }
}
