/// The whole state file.
public struct HostState: Sendable, Equatable, Codable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// Sorted by address.
    public var devices: [DeviceRecord]
    /// PFs whose VFs vfioctl created, sorted by address; absent when there are none (files
    /// written before it existed decode unchanged).
    public var sriov: [SRIOVRecord]?

    public init(devices: [DeviceRecord] = []) {
        self.schemaVersion = Self.currentSchemaVersion
        self.devices = devices.sorted { $0.address < $1.address }
    }

    public subscript(address: PCIAddress) -> DeviceRecord? {
        devices.first { $0.address == address }
    }

    /// Adds or replaces the record for its address.
    public mutating func upsert(_ record: DeviceRecord) {
        devices.removeAll { $0.address == record.address }
        devices.append(record)
        devices.sort { $0.address < $1.address }
    }

    /// The VM each device was bound for, of the records that say (`vfioctl hook`).
    public var domains: [PCIAddress: String] {
        var result: [PCIAddress: String] = [:]
        for record in devices { if let domain = record.domain { result[record.address] = domain } }
        return result
    }

    public mutating func remove(_ address: PCIAddress) {
        devices.removeAll { $0.address == address }
    }
}
