import VFIOModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The version of every `--json` document's shape; bumped only on incompatible changes.
package let jsonSchemaVersion = 1

extension Console {
    /// Writes one JSON document (sorted keys, so output is stable for diffs and tests).
    package func emitJSON(_ value: some Encodable) {
        if let streamable = value as? any JSONStreamable {
            var writer = JSONWriter(sink: { self.write(bytes: $0) })
            streamable.write(to: &writer)
            writer.finish()
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
    package func emitErrorJSON(_ error: VFIOError) {
        emitJSON(ErrorDocument(error: ErrorDocument.Body(error)))
    }
}

package struct ErrorDocument: Encodable {
    package struct Body: Encodable {
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

        /// A refusal that `--wait` waited out in vain: exit 3, as a release that timed out.
        init(timeoutMessage: String) {
            code = ExitStatus.timedOut.rawValue
            kind = VFIOError.Kind.timedOut.rawValue
            message = timeoutMessage
        }
    }
    var schemaVersion = jsonSchemaVersion
    package let error: Body
}

/// One device as every command's JSON shows it. Absent facts are `null`, not missing keys, so
/// consumers can rely on the key set.
package struct DeviceJSON: Encodable {
    package let device: PCIDevice
    /// The running kernel's `vfio_pci:` aliases, read once per document (nil: not reported).
    package var aliases: [VFIOAlias]? = nil
    /// The function's VFIO nodes as the reader found them (nil: not VFIO-bound, or not read).
    package var nodes: VFIONodes?

    package init(device: PCIDevice, aliases: [VFIOAlias]? = nil, nodes: VFIONodes? = nil) {
        self.device = device
        self.aliases = aliases
        self.nodes = nodes
    }

    /// The document's fields, computed for `Encodable` (`show`, `bind`); `list --json` streams
    /// the same keys without building them (see the streaming extension below).
    package struct Fields: Encodable {
        var address: String
        @Nullable var vendorID: String?
        @Nullable var deviceID: String?
        @Nullable var subsystemVendorID: String?
        @Nullable var subsystemDeviceID: String?
        var classCode: String
        @Nullable var revision: String?
        @Nullable var headerType: UInt8?
        @Nullable var vendorName: String?
        @Nullable var deviceName: String?
        @Nullable var subsystemName: String?
        @Nullable var className: String?
        @Nullable var driver: String?
        @Nullable var driverOverride: String?
        @Nullable var driverctlOverride: String?
        @Nullable var iommuGroup: Int?
        @Nullable var numaNode: Int?
        @Nullable var resetMethods: [String]?
        @Nullable var bootVGA: Bool?
        @Nullable var enable: Int?
        var vfioBound: Bool
        @Nullable var vfioDevice: String?
        @Nullable var groupNode: String?
        @Nullable var deviceNode: String?
        /// Owner and mode of the two nodes, as `lstat` shows them (null: no node).
        @Nullable var groupNodeAccess: NodeAccessJSON?
        @Nullable var deviceNodeAccess: NodeAccessJSON?
        var isBridge: Bool
        var multiFunction: Bool
        @Nullable var parent: String?
        @Nullable var physicalFunction: String?
        @Nullable var sriov: SRIOVJSON?
        /// Which VFIO drivers fit and which `--driver auto` takes (null for a bridge).
        @Nullable var vfioDrivers: VFIODriversJSON?
    }

    package struct VFIODriversJSON: Encodable {
        var auto: String
        var reason: String
        var candidates: [Candidate]

        struct Candidate: Encodable {
            var module: String
            var driver: String
            var alias: String
            var specificity: Int
        }

        init(_ choice: VFIODriverChoice) {
            auto = choice.driver
            reason = choice.reason
            candidates = choice.candidates.map { Candidate(module: $0.module, driver: $0.driver, alias: "vfio_pci:" + $0.pattern, specificity: $0.specificity) }
        }
    }

    package var vfioDrivers: VFIODriversJSON? {
        guard let aliases, !device.isBridge else { return nil }
        return VFIODriversJSON(VFIODriverChoice.choose(for: device, aliases: aliases))
    }

    package struct NodeAccessJSON: Encodable {
        var uid: UInt32
        var gid: UInt32
        /// Octal permission bits, `0600`.
        var mode: String

        init(_ status: NodeStatus) {
            uid = status.uid
            gid = status.gid
            mode = status.modeText
        }
    }

    /// The group node the kernel made (`noiommu-N` in no-IOMMU mode); none on a kernel
    /// without the group interface (CONFIG_VFIO_GROUP=n).
    package var groupNodePath: String? { nodes?.groupNode }
    /// The device's cdev; none for a device in no-IOMMU mode (vfio_device_add gives it none).
    package var deviceNodePath: String? { nodes?.deviceNode }

    package func access(_ path: String?) -> NodeAccessJSON? {
        nodes?.status(path).map(NodeAccessJSON.init)
    }

    package struct SRIOVJSON: Encodable {
        var totalVFs: Int
        var numVFs: Int
        @Nullable var driversAutoprobe: Bool?
        @Nullable var vfDeviceID: String?
        var virtualFunctions: [String]
    }

    package static func hex16(_ v: UInt16?) -> String? { v.map { hexString(UInt32($0), width: 4) } }

    package var fields: Fields {
        let d = device
        return Fields(
            address: d.address.description, vendorID: Self.hex16(d.vendorID), deviceID: Self.hex16(d.deviceID),
            subsystemVendorID: Self.hex16(d.subsystemVendorID), subsystemDeviceID: Self.hex16(d.subsystemDeviceID), classCode: d.classCodeHex,
            revision: d.revision.map { hexString(UInt32($0), width: 2) }, headerType: d.headerType, vendorName: d.names.vendor,
            deviceName: d.names.device, subsystemName: d.names.subsystem, className: d.names.className, driver: d.driver,
            driverOverride: d.driverOverride, driverctlOverride: d.driverctlOverride, iommuGroup: d.iommuGroup, numaNode: d.numaNode,
            resetMethods: d.resetMethods, bootVGA: d.bootVGA, enable: d.enableCount, vfioBound: d.isVFIOBound, vfioDevice: d.vfioDeviceName,
            groupNode: groupNodePath, deviceNode: deviceNodePath, groupNodeAccess: access(groupNodePath), deviceNodeAccess: access(deviceNodePath),
            isBridge: d.isBridge, multiFunction: d.multiFunction, parent: d.parent?.description, physicalFunction: d.physicalFunction?.description,
            sriov: d.sriov.map {
                SRIOVJSON(
                    totalVFs: $0.totalVFs, numVFs: $0.numVFs, driversAutoprobe: $0.driversAutoprobe, vfDeviceID: Self.hex16($0.vfDeviceID),
                    virtualFunctions: $0.virtualFunctions.map(\.description))
            }, vfioDrivers: vfioDrivers)
    }

    package func encode(to encoder: any Encoder) throws {
        try fields.encode(to: encoder)
    }
}

/// A group with its verdict.
package struct GroupJSON: Encodable {
    package let id: Int
    package let devices: [String]
    package let otherMembers: [String]
    @Nullable package var type: String?
    package let viable: Bool
    /// vfio made this group in no-IOMMU mode: no DMA isolation.
    package let noIOMMU: Bool
    package let blockers: [BlockerJSON]
    package let reservedRegions: [RegionJSON]

    package struct BlockerJSON: Encodable {
        let address: String
        let driver: String
        let reason: String
    }
    package struct RegionJSON: Encodable {
        let start: String
        let end: String
        let type: String
    }

    package init(_ group: IOMMUGroup, viability: Viability) {
        id = group.id
        devices = group.members.map(\.description)
        otherMembers = group.otherMembers
        type = group.type
        viable = viability.viable
        noIOMMU = group.noIOMMU
        blockers = viability.blockers.map { BlockerJSON(address: $0.address.description, driver: $0.driver, reason: $0.reason) }
        reservedRegions = group.reservedRegions.map {
            RegionJSON(start: "0x" + String($0.start, radix: 16), end: "0x" + String($0.end, radix: 16), type: $0.type)
        }
    }
}

// MARK: - Streaming (same bytes as the Encodable conformances above; tests compare them)

extension ListDocument: JSONStreamable {
    package func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("devices")
        w.beginArray()
        w.arrayElements(devices)
        w.endArray()
        w.key("groups")
        w.beginArray()
        w.arrayElements(groups)
        w.endArray()
        w.field("iommuEnabled", iommuEnabled)
        w.field("schemaVersion", schemaVersion)
        w.endObject()
    }
}

extension DeviceJSON: JSONStreamable {
    package func write(to w: inout JSONWriter) {
        let d = device
        let groupNode = groupNodePath
        let deviceNode = deviceNodePath
        w.beginObject()
        w.field("address", d.address.description)
        w.field("bootVGA", d.bootVGA)
        w.hexField("classCode", d.classCode, width: 6)
        w.field("className", d.names.className)
        w.hexField("deviceID", UInt32(d.deviceID), width: 4)
        w.field("deviceName", d.names.device)
        w.field("deviceNode", deviceNode)
        Self.write(access(deviceNode), key: "deviceNodeAccess", to: &w)
        w.field("driver", d.driver)
        w.field("driverOverride", d.driverOverride)
        w.field("driverctlOverride", d.driverctlOverride)
        w.field("enable", d.enableCount)
        w.field("groupNode", groupNode)
        Self.write(access(groupNode), key: "groupNodeAccess", to: &w)
        w.field("headerType", d.headerType)
        w.field("iommuGroup", d.iommuGroup)
        w.field("isBridge", d.isBridge)
        w.field("multiFunction", d.multiFunction)
        w.field("numaNode", d.numaNode)
        w.field("parent", d.parent?.description)
        w.field("physicalFunction", d.physicalFunction?.description)
        w.field("resetMethods", d.resetMethods)
        w.hexField("revision", d.revision.map(UInt32.init), width: 2)
        w.key("sriov")
        Self.write(d.sriov, to: &w)
        w.hexField("subsystemDeviceID", d.subsystemDeviceID.map(UInt32.init), width: 4)
        w.field("subsystemName", d.names.subsystem)
        w.hexField("subsystemVendorID", d.subsystemVendorID.map(UInt32.init), width: 4)
        w.hexField("vendorID", UInt32(d.vendorID), width: 4)
        w.field("vendorName", d.names.vendor)
        w.field("vfioBound", d.isVFIOBound)
        w.field("vfioDevice", d.vfioDeviceName)
        w.key("vfioDrivers")
        Self.write(vfioDrivers, to: &w)
        w.endObject()
    }

    static func write(_ sriov: PCIDevice.SRIOV?, to w: inout JSONWriter) {
        guard let sriov else { return w.null() }
        w.beginObject()
        w.field("driversAutoprobe", sriov.driversAutoprobe)
        w.field("numVFs", sriov.numVFs)
        w.field("totalVFs", sriov.totalVFs)
        w.hexField("vfDeviceID", sriov.vfDeviceID.map(UInt32.init), width: 4)
        w.field("virtualFunctions", sriov.virtualFunctions.map(\.description))
        w.endObject()
    }

    static func write(_ drivers: VFIODriversJSON?, to w: inout JSONWriter) {
        guard let drivers else { return w.null() }
        w.beginObject()
        w.field("auto", drivers.auto)
        w.key("candidates")
        w.beginArray()
        for c in drivers.candidates {
            w.arrayElement()
            w.beginObject()
            w.field("alias", c.alias)
            w.field("driver", c.driver)
            w.field("module", c.module)
            w.field("specificity", c.specificity)
            w.endObject()
        }
        w.endArray()
        w.field("reason", drivers.reason)
        w.endObject()
    }
}

extension GroupJSON: JSONStreamable {
    package func write(to w: inout JSONWriter) {
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
        w.field("noIOMMU", noIOMMU)
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

extension DeviceJSON {
    package static func write(_ access: NodeAccessJSON?, key: StaticString, to w: inout JSONWriter) {
        w.key(key)
        guard let access else {
            w.null()
            return
        }
        w.beginObject()
        w.field("gid", access.gid)
        w.field("mode", access.mode)
        w.field("uid", access.uid)
        w.endObject()
    }
}
