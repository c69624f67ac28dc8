/// What vfioctl remembers about a PF whose VFs it created (`vfioctl sriov`): how the PF was
/// before it first touched it, so `restore` puts `sriov_numvfs` and autoprobe back.
public struct SRIOVRecord: Sendable, Equatable, Codable {
    public var address: PCIAddress
    /// `sriov_numvfs` before vfioctl first changed it.
    public var originalNumVFs: Int
    /// `sriov_drivers_autoprobe` before vfioctl first changed it (nil: the kernel has none).
    @Nullable public var originalAutoprobe: Bool?
    /// The count vfioctl set.
    public var numVFs: Int
    /// The driver vfioctl bound the VFs to (nil: left unbound).
    @Nullable public var vfDriver: String?
    /// When this record was last written, UTC, RFC 3339.
    public var time: String

    public init(
        address: PCIAddress, originalNumVFs: Int, originalAutoprobe: Bool?, numVFs: Int, vfDriver: String?, time: String
    ) {
        self.address = address
        self.originalNumVFs = originalNumVFs
        self.originalAutoprobe = originalAutoprobe
        self.numVFs = numVFs
        self.vfDriver = vfDriver
        self.time = time
    }
}

extension HostState {
    /// The SR-IOV record of `pf`, if vfioctl changed its VFs.
    public func sriovRecord(_ pf: PCIAddress) -> SRIOVRecord? {
        sriov?.first { $0.address == pf }
    }

    /// Adds or replaces the record for its PF.
    public mutating func upsert(_ record: SRIOVRecord) {
        var records = (sriov ?? []).filter { $0.address != record.address }
        records.append(record)
        sriov = records.sorted { $0.address < $1.address }
    }

    /// Forgets a PF's record; the field goes away with the last one, so the file reads as before.
    public mutating func removeSRIOV(_ pf: PCIAddress) {
        let records = (sriov ?? []).filter { $0.address != pf }
        sriov = records.isEmpty ? nil : records
    }
}
