/// Owner and mode of one device node, as `lstat` shows it.
public struct NodeStatus: Sendable, Equatable {
    /// Host-absolute path.
    public var path: String
    public var uid: UInt32
    public var gid: UInt32
    /// Permission bits (`0o600`).
    public var mode: UInt32

    public init(path: String, uid: UInt32, gid: UInt32, mode: UInt32) {
        self.path = path
        self.uid = uid
        self.gid = gid
        self.mode = mode
    }

    public var modeText: String { NodeOwner.octal(mode) }
}

/// The VFIO nodes of one VFIO-bound function, read from `/dev/vfio` before anything is
/// rendered, so a document or a `show` page is drawn from values (host-absolute paths).
public struct VFIONodes: Sendable, Equatable {
    /// The node a program opens for the function's group: the group node that exists, else
    /// `/dev/vfio/N` where the kernel has the group interface or cannot tell; nil on a kernel
    /// without it (CONFIG_VFIO_GROUP=n).
    public var groupNode: String?
    /// The function's cdev (`/dev/vfio/devices/vfioX`); nil in no-IOMMU mode, where
    /// `vfio_device_add` makes none.
    public var deviceNode: String?
    /// The nodes the running kernel makes for the function, as `show` lists them (empty when
    /// not asked for: `list --json` has no use for them).
    public var made: [String]
    /// Owner and mode of each of these nodes that exists, by path.
    public var access: [String: NodeStatus]

    public init(groupNode: String?, deviceNode: String?, made: [String] = [], access: [String: NodeStatus] = [:]) {
        self.groupNode = groupNode
        self.deviceNode = deviceNode
        self.made = made
        self.access = access
    }

    public func status(_ path: String?) -> NodeStatus? { path.flatMap { access[$0] } }
}

/// The nodes of one IOMMU group as a bind leaves it (or would), for its report.
public struct GroupNodes: Sendable, Equatable {
    /// The group node that exists (`/dev/vfio/N` or `/dev/vfio/noiommu-N`).
    public var existing: String?
    /// The node a program opens for the bound group (`VFIONodes.groupNode`'s rule).
    public var bound: String?
    /// The members' cdevs that exist, for a kernel without the group interface.
    public var memberCdevs: [String]

    public init(existing: String?, bound: String?, memberCdevs: [String] = []) {
        self.existing = existing
        self.bound = bound
        self.memberCdevs = memberCdevs
    }
}
