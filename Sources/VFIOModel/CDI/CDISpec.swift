#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Container Device Interface spec (cncf-tags/container-device-interface, SPEC.md) with one
/// device per VFIO-bound IOMMU group, so that podman, containerd or CRI-O can hand a group to
/// a container by name (`--device vfioctl.io/group=12`). Each device carries every node a
/// process needs to use the group: the container node `/dev/vfio/vfio`, the group node, and
/// where the kernel has them the per-device cdevs and `/dev/iommu` (iommufd).
public struct CDISpec: Sendable, Equatable, Encodable {
    /// 0.6.0 is the first version with per-device annotations, which carry the PCI addresses.
    public static let version = "0.6.0"
    public static let defaultKind = "vfioctl.io/group"
    public static let defaultPath = "/etc/cdi/vfioctl.json"
    /// Annotation naming the PCI functions of a group.
    public static let devicesAnnotation = "vfioctl.io/devices"

    public struct DeviceNode: Sendable, Equatable, Encodable {
        public var path: String
    }

    public struct ContainerEdits: Sendable, Equatable, Encodable {
        public var deviceNodes: [DeviceNode]
    }

    public struct Device: Sendable, Equatable, Encodable {
        /// The group number (`12`).
        public var name: String
        public var annotations: [String: String]
        public var containerEdits: ContainerEdits
    }

    public var cdiVersion = CDISpec.version
    public var kind: String
    public var devices: [Device]

    /// The nodes that exist, as `VFIONodeReader` finds them (host-absolute paths).
    public struct Nodes: Sendable, Equatable {
        public var container: Bool
        public var iommufd: Bool
        public var groupNodes: [Int: String]
        public var cdevs: [PCIAddress: [String]]

        public init(container: Bool, iommufd: Bool, groupNodes: [Int: String], cdevs: [PCIAddress: [String]]) {
            self.container = container
            self.iommufd = iommufd
            self.groupNodes = groupNodes
            self.cdevs = cdevs
        }
    }

    /// One device per group that a VM could open now: at least one member on a VFIO driver, the
    /// group viable (no member on a host driver that uses the DMA API), and a node to open.
    public static func build(inventory: HostInventory, nodes: Nodes, kind: String = defaultKind) -> CDISpec {
        var devices: [Device] = []
        for group in inventory.sortedGroups {
            let members = inventory.members(of: group)
            let bound = members.filter(\.isVFIOBound)
            guard !bound.isEmpty, inventory.viability(of: group).viable else { continue }
            var paths: [String] = []
            if let node = nodes.groupNodes[group.id] {
                if nodes.container { paths.append("/dev/vfio/vfio") }
                paths.append(node)
            }
            let cdevs = bound.flatMap { nodes.cdevs[$0.address] ?? [] }
            if !cdevs.isEmpty {
                paths += cdevs
                if nodes.iommufd { paths.append("/dev/iommu") }
            }
            guard !paths.isEmpty else { continue }
            devices.append(
                Device(
                    name: String(group.id), annotations: [devicesAnnotation: bound.map(\.address.description).joined(separator: ",")],
                    containerEdits: ContainerEdits(deviceNodes: paths.map { DeviceNode(path: $0) })))
        }
        return CDISpec(kind: kind, devices: devices)
    }

    /// The file's bytes: pretty-printed, sorted keys, a final newline (stable, so an unchanged
    /// host rewrites nothing).
    public func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return [] }
        return Array(data) + [UInt8(ascii: "\n")]
    }

    /// A kind is `VENDOR/CLASS` (SPEC.md, "kind"): the vendor a DNS-like name of letters,
    /// digits, `-`, `_` and `.`; the class letters, digits, `-`, `_` and `.`; both starting and
    /// ending with a letter or digit.
    public static func validateKind(_ kind: String) throws(VFIOError) {
        let parts = kind.split(separator: "/", omittingEmptySubsequences: false)
        func valid(_ part: Substring) -> Bool {
            guard let first = part.first, let last = part.last, first.isASCII, last.isASCII, first.isLetter || first.isNumber,
                last.isLetter || last.isNumber
            else { return false }
            return part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
        }
        guard parts.count == 2, valid(parts[0]), valid(parts[1]) else {
            throw .usage("invalid CDI kind '\(UntrustedText.printable(kind))': expected VENDOR/CLASS such as \(defaultKind)")
        }
    }
}

/// What keeping a CDI spec file in step did.
public struct CDIUpdate: Sendable {
    /// Host-absolute path of the spec file.
    public var path: String
    /// The devices (group numbers) the spec lists.
    public var devices: [String]
    /// The file was (re)written; false when it already had this content.
    public var changed: Bool
    /// Why it could not be written (the host's bindings are unaffected).
    public var error: VFIOError?

    public init(path: String, devices: [String], changed: Bool, error: VFIOError? = nil) {
        self.path = path
        self.devices = devices
        self.changed = changed
        self.error = error
    }
}
