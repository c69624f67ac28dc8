#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import VFIOKit

/// The version of every `--json` document's shape; bumped only on incompatible changes.
let jsonSchemaVersion = 1

extension Console {
    /// Writes one JSON document (sorted keys, so output is stable for diffs and tests).
    func emitJSON(_ value: some Encodable) {
        if let streamable = value as? any JSONStreamable {
            var writer = JSONWriter(capacity: 1 << 16)
            streamable.write(to: &writer)
            write(bytes: writer.bytes)
            write("\n")
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            error("vfioctl: internal error: cannot encode JSON")
            return
        }
        write(String(decoding: data, as: UTF8.self) + "\n")
    }

    /// With `--json`, failures are documents too, so pipelines can read why.
    func emitErrorJSON(_ error: VFIOError) {
        emitJSON(ErrorDocument(error: ErrorDocument.Body(error)))
    }
}

struct ErrorDocument: Encodable {
    struct Body: Encodable {
        var code: Int32
        var kind: String
        var message: String
        /// What failed and what to do, where the error says.
        @Nullable var target: String?
        @Nullable var remedy: String?

        init(_ error: VFIOError) {
            code = error.exitCode
            kind = error.kind.rawValue
            message = error.message
            target = error.target
            remedy = error.remedy
        }

        /// The error of a refusal document, whose reasons carry the targets and remedies.
        init(refusalMessage: String) {
            code = ExitStatus.refused.rawValue
            kind = VFIOError.Kind.refused.rawValue
            message = refusalMessage
        }
    }
    var schemaVersion = jsonSchemaVersion
    let error: Body
}

/// One device as every command's JSON shows it. Absent facts are `null`, not missing keys, so
/// consumers can rely on the key set.
struct DeviceJSON: Encodable {
    let device: PCIDevice
    let root: HostRoot

    enum Keys: String, CodingKey {
        case address, vendorID, deviceID, subsystemVendorID, subsystemDeviceID, classCode, revision, headerType
        case vendorName, deviceName, subsystemName, className
        case driver, driverOverride, driverctlOverride, iommuGroup, numaNode, resetMethods, bootVGA, enable, vfioBound, vfioDevice
        case groupNode, deviceNode, isBridge, multiFunction, parent, physicalFunction, sriov
    }

    struct SRIOVJSON: Encodable {
        let totalVFs: Int
        let numVFs: Int
        let driversAutoprobe: Bool?
        let vfDeviceID: String?
        let virtualFunctions: [String]

        enum Keys: String, CodingKey { case totalVFs, numVFs, driversAutoprobe, vfDeviceID, virtualFunctions }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(totalVFs, forKey: .totalVFs)
            try c.encode(numVFs, forKey: .numVFs)
            try c.encode(driversAutoprobe, forKey: .driversAutoprobe)
            try c.encode(vfDeviceID, forKey: .vfDeviceID)
            try c.encode(virtualFunctions, forKey: .virtualFunctions)
        }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let d = device
        func hex16(_ v: UInt16?) -> String? { v.map { hexString(UInt32($0), width: 4) } }
        try c.encode(d.address.description, forKey: .address)
        try c.encode(hex16(d.vendorID), forKey: .vendorID)
        try c.encode(hex16(d.deviceID), forKey: .deviceID)
        try c.encode(hex16(d.subsystemVendorID), forKey: .subsystemVendorID)
        try c.encode(hex16(d.subsystemDeviceID), forKey: .subsystemDeviceID)
        try c.encode(d.classCodeHex, forKey: .classCode)
        try c.encode(d.revision.map { hexString(UInt32($0), width: 2) }, forKey: .revision)
        try c.encode(d.headerType, forKey: .headerType)
        try c.encode(d.names.vendor, forKey: .vendorName)
        try c.encode(d.names.device, forKey: .deviceName)
        try c.encode(d.names.subsystem, forKey: .subsystemName)
        try c.encode(d.names.className, forKey: .className)
        try c.encode(d.driver, forKey: .driver)
        try c.encode(d.driverOverride, forKey: .driverOverride)
        try c.encode(d.driverctlOverride, forKey: .driverctlOverride)
        try c.encode(d.iommuGroup, forKey: .iommuGroup)
        try c.encode(d.numaNode, forKey: .numaNode)
        try c.encode(d.resetMethods, forKey: .resetMethods)
        try c.encode(d.bootVGA, forKey: .bootVGA)
        try c.encode(d.enableCount, forKey: .enable)
        try c.encode(d.isVFIOBound, forKey: .vfioBound)
        try c.encode(d.vfioDeviceName, forKey: .vfioDevice)
        try c.encode(d.isVFIOBound ? d.iommuGroup.map { "/dev/vfio/\($0)" } : nil, forKey: .groupNode)
        try c.encode(d.vfioDeviceName.map { "/dev/vfio/devices/\($0)" }, forKey: .deviceNode)
        try c.encode(d.isBridge, forKey: .isBridge)
        try c.encode(d.multiFunction, forKey: .multiFunction)
        try c.encode(d.parent?.description, forKey: .parent)
        try c.encode(d.physicalFunction?.description, forKey: .physicalFunction)
        try c.encode(
            d.sriov.map {
                SRIOVJSON(
                    totalVFs: $0.totalVFs, numVFs: $0.numVFs, driversAutoprobe: $0.driversAutoprobe, vfDeviceID: hex16($0.vfDeviceID),
                    virtualFunctions: $0.virtualFunctions.map(\.description))
            }, forKey: .sriov)
    }
}

/// A group with its verdict.
struct GroupJSON: Encodable {
    let id: Int
    let devices: [String]
    let otherMembers: [String]
    let type: String?
    let viable: Bool
    let blockers: [BlockerJSON]
    let reservedRegions: [RegionJSON]

    struct BlockerJSON: Encodable {
        let address: String
        let driver: String
        let reason: String
    }
    struct RegionJSON: Encodable {
        let start: String
        let end: String
        let type: String
    }

    init(_ group: IOMMUGroup, viability: Viability) {
        id = group.id
        devices = group.members.map(\.description)
        otherMembers = group.otherMembers
        type = group.type
        viable = viability.viable
        blockers = viability.blockers.map { BlockerJSON(address: $0.address.description, driver: $0.driver, reason: $0.reason) }
        reservedRegions = group.reservedRegions.map {
            RegionJSON(start: "0x" + String($0.start, radix: 16), end: "0x" + String($0.end, radix: 16), type: $0.type)
        }
    }

    enum Keys: String, CodingKey { case id, devices, otherMembers, type, viable, blockers, reservedRegions }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(devices, forKey: .devices)
        try c.encode(otherMembers, forKey: .otherMembers)
        try c.encode(type, forKey: .type)
        try c.encode(viable, forKey: .viable)
        try c.encode(blockers, forKey: .blockers)
        try c.encode(reservedRegions, forKey: .reservedRegions)
    }
}

// MARK: - Streaming (same bytes as the Encodable conformances above; tests compare them)

extension ListDocument: JSONStreamable {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("devices")
        w.beginArray()
        for device in devices {
            w.arrayElement()
            device.write(to: &w)
        }
        w.endArray()
        w.key("groups")
        w.beginArray()
        for group in groups {
            w.arrayElement()
            group.write(to: &w)
        }
        w.endArray()
        w.field("iommuEnabled", iommuEnabled)
        w.field("schemaVersion", schemaVersion)
        w.endObject()
    }
}

extension DeviceJSON: JSONStreamable {
    func write(to w: inout JSONWriter) {
        let d = device
        func hex16(_ v: UInt16?) -> String? { v.map { hexString(UInt32($0), width: 4) } }
        w.beginObject()
        w.field("address", d.address.description)
        w.field("bootVGA", d.bootVGA)
        w.field("classCode", d.classCodeHex)
        w.field("className", d.names.className)
        w.field("deviceID", hex16(d.deviceID))
        w.field("deviceName", d.names.device)
        w.field("deviceNode", d.vfioDeviceName.map { "/dev/vfio/devices/" + $0 })
        w.field("driver", d.driver)
        w.field("driverOverride", d.driverOverride)
        w.field("driverctlOverride", d.driverctlOverride)
        w.field("enable", d.enableCount)
        w.field("groupNode", d.isVFIOBound ? d.iommuGroup.map { "/dev/vfio/" + String($0) } : nil)
        w.field("headerType", d.headerType)
        w.field("iommuGroup", d.iommuGroup)
        w.field("isBridge", d.isBridge)
        w.field("multiFunction", d.multiFunction)
        w.field("numaNode", d.numaNode)
        w.field("parent", d.parent?.description)
        w.field("physicalFunction", d.physicalFunction?.description)
        w.field("resetMethods", d.resetMethods)
        w.field("revision", d.revision.map { hexString(UInt32($0), width: 2) })
        w.key("sriov")
        if let sriov = d.sriov {
            w.beginObject()
            w.field("driversAutoprobe", sriov.driversAutoprobe)
            w.field("numVFs", sriov.numVFs)
            w.field("totalVFs", sriov.totalVFs)
            w.field("vfDeviceID", hex16(sriov.vfDeviceID))
            w.field("virtualFunctions", sriov.virtualFunctions.map(\.description))
            w.endObject()
        } else {
            w.null()
        }
        w.field("subsystemDeviceID", hex16(d.subsystemDeviceID))
        w.field("subsystemName", d.names.subsystem)
        w.field("subsystemVendorID", hex16(d.subsystemVendorID))
        w.field("vendorID", hex16(d.vendorID))
        w.field("vendorName", d.names.vendor)
        w.field("vfioBound", d.isVFIOBound)
        w.field("vfioDevice", d.vfioDeviceName)
        w.endObject()
    }
}

extension GroupJSON: JSONStreamable {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("blockers")
        w.beginArray()
        for blocker in blockers {
            w.arrayElement()
            w.beginObject()
            w.field("address", blocker.address)
            w.field("driver", blocker.driver)
            w.field("reason", blocker.reason)
            w.endObject()
        }
        w.endArray()
        w.field("devices", devices)
        w.field("id", id)
        w.field("otherMembers", otherMembers)
        w.key("reservedRegions")
        w.beginArray()
        for region in reservedRegions {
            w.arrayElement()
            w.beginObject()
            w.field("end", region.end)
            w.field("start", region.start)
            w.field("type", region.type)
            w.endObject()
        }
        w.endArray()
        w.field("type", type)
        w.field("viable", viable)
        w.endObject()
    }
}
