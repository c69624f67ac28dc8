import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("Null-preserving fields")
struct NullableTests {
    struct Entry: Codable, Equatable {
        var address: String
        @Nullable var driver: String?
    }

    @Test("an absent value is written as null, never left out")
    func encodesNull() throws {
        let data = try JSONEncoder().encode(Entry(address: "0000:01:00.0", driver: nil))
        #expect(String(decoding: data, as: UTF8.self).contains("\"driver\":null"))
        let present = try JSONEncoder().encode(Entry(address: "0000:01:00.0", driver: "nouveau"))
        #expect(String(decoding: present, as: UTF8.self).contains("\"driver\":\"nouveau\""))
    }

    @Test("null and a missing key both read back as nil", arguments: [#"{"address":"a","driver":null}"#, #"{"address":"a"}"#])
    func decodesNilOrMissing(_ text: String) throws {
        #expect(try JSONDecoder().decode(Entry.self, from: Data(text.utf8)) == Entry(address: "a", driver: nil))
    }

    @Test("a state-file record keeps every key")
    func recordKeys() throws {
        let record = DeviceRecord(
            address: PCIAddress("0000:05:00.0")!, group: nil, originalDriver: nil, originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: FixtureClock.time)
        let object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(record)) as? [String: Any])
        #expect(Set(object.keys) == ["address", "group", "originalDriver", "originalOverride", "boundDriver", "status", "currentDriver", "owner", "time"])
        #expect(try JSONDecoder().decode(DeviceRecord.self, from: JSONEncoder().encode(record)) == record)
    }
}
