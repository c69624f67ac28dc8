import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@testable import VfioctlCommands
@testable import VfioctlOutput

@Suite("the streaming JSON writer writes what JSONEncoder writes")
struct JSONWriterTests {
    func encoded(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    func streamed(_ value: some JSONStreamable) -> String {
        var writer = JSONWriter()
        value.write(to: &writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    @Test("list documents, byte for byte", arguments: FixtureLayout.allCases)
    func listDocument(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let inventory = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        let document = ListDocument(
            iommuEnabled: inventory.iommuEnabled, devices: inventory.devices.map { DeviceJSON(device: $0, nodes: VFIONodeReader(root: host.root).nodes(of: $0)) },
            groups: inventory.sortedGroups.map { GroupJSON($0, viability: inventory.viability(of: $0)) })
        #expect(streamed(document) == (try encoded(document)))
        // Empty containers too.
        let empty = ListDocument(iommuEnabled: false, devices: [], groups: [])
        #expect(streamed(empty) == (try encoded(empty)))
    }

    @Test("odd devices: every optional absent, every string needing escapes")
    func oddDevice() throws {
        let odd = "quote\" backslash\\ slash/ tab\t newline\n cr\r bs\u{8} ff\u{C} nul\u{0} esc\u{1B} del\u{7F} ünï 😀"
        var device = PCIDevice(address: PCIAddress("0000:00:00.0")!, vendorID: 0xffff, deviceID: 0, classCode: 0)
        let bare = ListDocument(
            iommuEnabled: true, devices: [DeviceJSON(device: device)],
            groups: [GroupJSON(IOMMUGroup(id: 3, members: [], otherMembers: [odd]), viability: Viability.evaluate([]))])
        #expect(streamed(bare) == (try encoded(bare)))
        let host = FixtureLayout.desktop.build()
        device = try #require(InventoryReader(root: host.root, database: nil).read().device(PCIAddress("07:00.0")!))
        device.names = PCIDevice.Names(vendor: odd, device: odd, subsystem: odd, className: odd)
        device.driver = odd
        device.resetMethods = []
        device.sriov?.driversAutoprobe = nil
        device.sriov?.vfDeviceID = nil
        #expect(device.sriov != nil)
        let full = ListDocument(iommuEnabled: false, devices: [DeviceJSON(device: device)], groups: [])
        #expect(streamed(full) == (try encoded(full)))
    }

    @Test("a writer that hands its bytes on in chunks writes the same document", arguments: [1, 100, 4096, 1 << 16])
    func chunked(_ chunk: Int) throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        let document = ListDocument(
            iommuEnabled: inventory.iommuEnabled, devices: inventory.devices.map { DeviceJSON(device: $0, nodes: VFIONodeReader(root: host.root).nodes(of: $0)) },
            groups: inventory.sortedGroups.map { GroupJSON($0, viability: inventory.viability(of: $0)) })
        var chunks: [[UInt8]] = []
        var writer = JSONWriter(chunk: chunk, sink: { chunks.append(Array($0)) })
        document.write(to: &writer)
        writer.finish()
        #expect(writer.bytes.isEmpty)
        #expect(String(decoding: chunks.joined(), as: UTF8.self) == (try encoded(document)))
        // Every chunk but the last reached the size it was asked for.
        #expect(chunks.dropLast().allSatisfy { $0.count >= chunk })
        #expect(chunk >= 1 << 16 ? chunks.count == 1 : chunks.count > 1)
    }

    @Test("elements written by several threads in batches: the same bytes as one by one", arguments: [2, 3, 8])
    func threadedElements(threads: Int) throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        let devices = inventory.devices.map { DeviceJSON(device: $0, nodes: VFIONodeReader(root: host.root).nodes(of: $0)) }
        let groups = inventory.sortedGroups.map { GroupJSON($0, viability: inventory.viability(of: $0)) }
        #expect(devices.count > 2 * threads)
        let document = ListDocument(iommuEnabled: inventory.iommuEnabled, devices: devices, groups: groups)
        let expected = try encoded(document)
        // Every batch size up to one batch for all: last batches of every size, fewer items
        // than threads among them; with a sink taking each thread's buffer as it is, and
        // without one (the buffers appended).
        for (batch, chunk) in (1...devices.count + 1).flatMap({ batch in [(batch, 1), (batch, 1 << 16), (batch, nil)] }) {
            var chunks: [[UInt8]] = []
            var writer = chunk.map { JSONWriter(chunk: $0, sink: { chunks.append(Array($0)) }) } ?? JSONWriter()
            writer.beginObject()
            writer.key("devices")
            writer.beginArray()
            writer.arrayElements(document.devices, threads: threads, batch: batch)
            writer.endArray()
            writer.key("groups")
            writer.beginArray()
            writer.arrayElements(document.groups, threads: threads, batch: batch)
            writer.endArray()
            writer.field("iommuEnabled", document.iommuEnabled)
            writer.field("schemaVersion", document.schemaVersion)
            writer.endObject()
            writer.finish()
            let written = chunk == nil ? writer.bytes : Array(chunks.joined())
            #expect(String(decoding: written, as: UTF8.self) == expected, "batch \(batch), chunk \(String(describing: chunk))")
        }
        // An empty array stays empty, as the encoder writes it.
        var empty = JSONWriter()
        empty.beginArray()
        empty.arrayElements(JSONElements<GroupJSON>([]), threads: threads, batch: 1)
        empty.endArray()
        #expect(String(decoding: empty.bytes, as: UTF8.self) == (try encoded([GroupJSON]())))
    }

    @Test("numbers and hex strings, as JSONEncoder writes them", arguments: [Int.min, -1_000_000_007, -1, 0, 7, 10, 99, 100, 65_535, Int.max])
    func integers(_ value: Int) throws {
        var writer = JSONWriter()
        writer.int(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == (try encoded(value)))
        var wide = JSONWriter()
        wide.int(UInt64.max)
        #expect(String(decoding: wide.bytes, as: UTF8.self) == "18446744073709551615")
        let bits = UInt32(truncatingIfNeeded: value)
        for width in [1, 2, 4, 6, 8] {
            var hex = JSONWriter()
            hex.hexString(bits, width: width)
            #expect(String(decoding: hex.bytes, as: UTF8.self) == "\"" + hexString(bits, width: width) + "\"")
        }
    }

    @Test("nodes from one listing of /dev/vfio name what lstat finds", arguments: FixtureLayout.allCases.map(\.rawValue) + ["with VFIO nodes"])
    func listedNodes(_ layout: String) throws {
        let plainLayout = FixtureLayout(rawValue: layout)
        let host = try plainLayout?.build() ?? FixtureHost.desktopWithVFIONodes()
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        let listed = VFIONodeReader.listing(root: host.root)
        var withAccess = 0
        for device in inventory.devices {
            let alone = VFIONodeReader(root: host.root).nodes(of: device)
            #expect(listed.nodes(of: device) == alone, "\(device.address)")
            let one = DeviceJSON(device: device, nodes: alone)
            let shared = DeviceJSON(device: device, nodes: listed.nodes(of: device))
            #expect(streamed(shared) == streamed(one), "\(device.address)")
            if shared.fields.groupNodeAccess != nil, shared.fields.deviceNodeAccess != nil { withAccess += 1 }
        }
        // The VFIO function's two nodes exist only in the host that made them (group 24, vfio0);
        // elsewhere it is VFIO-bound without them, so the listing must answer "none" for both.
        #expect(withAccess == (plainLayout == nil ? 1 : 0))
    }
}
