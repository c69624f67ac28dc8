/// A character device number, `MAJ:MIN` as sysfs `dev` files print it. Holders are matched on
/// this (the `st_rdev` of what an fd points at), never on path text: container runtimes mknod
/// their own `/dev/vfio/N`, `d_path` is relative to the reader's root, and a torn-down node reads
/// back with a " (deleted)" suffix.
public struct DeviceNumber: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32

    public init(major: UInt32, minor: UInt32) {
        self.major = major
        self.minor = minor
    }

    /// Parses `243:12` (surrounding whitespace allowed).
    public init?(parsing text: some StringProtocol) {
        let trimmed = text.trimmingSpaces
        guard let colon = trimmed.firstIndex(of: ":"),
            let major = UInt32(trimmed[..<colon]), let minor = UInt32(trimmed[trimmed.index(after: colon)...])
        else { return nil }
        self.init(major: major, minor: minor)
    }

    /// One integer for fast comparison in the scan loop.
    package var packed: UInt64 { UInt64(major) << 32 | UInt64(minor) }

    public var description: String { String(major) + ":" + String(minor) }

    public static func < (a: DeviceNumber, b: DeviceNumber) -> Bool { a.packed < b.packed }
}

/// A VFIO character node: where it is expected to live and the number that identifies it.
public struct VFIONode: Sendable, Equatable {
    /// Host path, e.g. `/dev/vfio/12`, `/dev/vfio/noiommu-3`, `/dev/vfio/devices/vfio0`.
    public var path: String
    public var number: DeviceNumber

    public init(path: String, number: DeviceNumber) {
        self.path = path
        self.number = number
    }
}

/// What vfioctl knows about one device it is asked about, read fresh from sysfs for every scan
/// (the waiter rescans, and `enable`, the driver and the nodes all change under it).
public struct HolderTarget: Sendable, Equatable {
    public var address: PCIAddress
    /// false when the device directory has gone (hot-removed while waiting).
    public var present: Bool
    public var driver: String?
    public var vfioBound: Bool
    public var group: Int?
    /// `/dev/vfio/N` while the group has a VFIO driver on any member.
    public var groupNode: VFIONode?
    /// `/dev/vfio/devices/vfioX` (CONFIG_VFIO_DEVICE_CDEV, 6.6+).
    public var deviceNode: VFIONode?
    /// `vfioX` under `vfio-dev/`.
    public var vfioDeviceName: String?
    /// The `enable` count. For a vfio-bound device, ≥1 means some process has the device open
    /// (vfio-pci enables on first open, disables on last close; checked on 6.1 and 6.12).
    public var enableCount: Int?
    /// The host's own nodes of the function (DRM, sound, NVMe, USB…), read only when the scan
    /// asks for host holders (`HolderFinder.Options.hostNodes`) and the device is not on VFIO.
    public var hostNodes: [HostNode]

    public init(
        address: PCIAddress, present: Bool = true, driver: String? = nil, vfioBound: Bool = false, group: Int? = nil,
        groupNode: VFIONode? = nil, deviceNode: VFIONode? = nil, vfioDeviceName: String? = nil, enableCount: Int? = nil,
        hostNodes: [HostNode] = []
    ) {
        self.address = address
        self.present = present
        self.driver = driver
        self.vfioBound = vfioBound
        self.group = group
        self.groupNode = groupNode
        self.deviceNode = deviceNode
        self.vfioDeviceName = vfioDeviceName
        self.enableCount = enableCount
        self.hostNodes = hostNodes
    }

    /// Something could hold it through VFIO: it is VFIO-bound, or its group still has a node
    /// (another member is bound, or an unbind is in progress and has already dropped the
    /// `driver` link, which the kernel does before it waits).
    public var reachableThroughVFIO: Bool { vfioBound || groupNode != nil }
}

/// How a process holds a device or group.
public enum HandleKind: String, Sendable, Codable, CaseIterable {
    /// An fd on the group node `/dev/vfio/N` (or `noiommu-N`).
    case group
    /// An anonymous `anon_inode:[vfio-device]` fd (from `VFIO_GROUP_GET_DEVICE_FD`).
    case device
    /// An fd on the device cdev `/dev/vfio/devices/vfioX`.
    case cdev
    /// A mapping of a device region: it keeps the device open after the fd is closed.
    case mapping
    /// `/dev/vfio/vfio` or `/dev/iommu`: shown for context, never a hold on its own.
    case container
    /// An fd on, or a mapping of, one of the host's own nodes of a device on its host driver
    /// (`/dev/dri/card0`, `/dev/nvme0n1`, …).
    case hostNode = "host-node"
}

/// One fd or mapping through which a process holds (or may hold) something VFIO.
public struct HeldHandle: Sendable, Equatable {
    public var kind: HandleKind
    /// The fd number; nil for a mapping.
    public var fd: Int32?
    /// What the kernel shows for it: the fd's link text or the mapping's path.
    public var path: String
    /// The group, for a group handle.
    public var group: Int?
    /// The device, when the kernel says which (cdev number, fdinfo `vfio-device-syspath`, a
    /// mapped cdev). nil for an anonymous device fd or mapping on kernels before 6.18.
    public var device: PCIAddress?
    /// The address range, for a mapping.
    public var range: String?

    public init(kind: HandleKind, fd: Int32? = nil, path: String, group: Int? = nil, device: PCIAddress? = nil, range: String? = nil) {
        self.kind = kind
        self.fd = fd
        self.path = path
        self.group = group
        self.device = device
        self.range = range
    }

    /// A device-level handle whose device is unknown.
    public var isUnattributedDevice: Bool { (kind == .device || kind == .mapping) && device == nil }
}

/// A process and its VFIO handles, as the /proc scan found it.
public struct ScannedProcess: Sendable, Equatable {
    public var pid: Int32
    public var handles: [HeldHandle]

    public init(pid: Int32, handles: [HeldHandle]) {
        self.pid = pid
        self.handles = handles
    }
}

/// How the scan went: processes that vanished mid-scan (ENOENT/ESRCH) and ones this user may
/// not look into (EACCES/EPERM) are counted, never fatal.
public struct ScanStats: Sendable, Equatable {
    public var processes = 0
    public var vanished = 0
    public var unreadable = 0
    /// The first few unreadable pids, for the message.
    public var unreadablePids: [Int32] = []
    /// Processes whose maps were read.
    public var mapsRead = 0

    public init() {}

    package mutating func noteUnreadable(_ pid: Int32) {
        unreadable += 1
        if unreadablePids.count < 8 { unreadablePids.append(pid) }
    }

    /// Adds the counts of a scan of other processes.
    package mutating func merge(_ other: ScanStats) {
        processes += other.processes
        vanished += other.vanished
        unreadable += other.unreadable
        unreadablePids += other.unreadablePids.prefix(8 - min(8, unreadablePids.count))
        mapsRead += other.mapsRead
    }
}

/// A process reported as a holder, with what can cheaply be learned about it.
public struct HolderProcess: Sendable, Equatable {
    public var pid: Int32
    public var handles: [HeldHandle]
    /// `comm` (at most 15 bytes, as the kernel truncates it).
    public var command: String?
    public var commandLine: [String]?
    /// The cgroup v2 path (or the systemd one on a v1 host).
    public var cgroup: String?
    /// The innermost systemd unit in the cgroup path (`….service`, `….scope`).
    public var unit: String?
    /// A VM name, when the command line is QEMU's and names one (`-name guest=NAME`).
    public var vmName: String?
    /// Start time, seconds since the epoch (from `/proc/PID/stat` field 22 and `btime`).
    public var startedAt: Int64?

    public init(
        pid: Int32, handles: [HeldHandle], command: String? = nil, commandLine: [String]? = nil, cgroup: String? = nil,
        unit: String? = nil, vmName: String? = nil, startedAt: Int64? = nil
    ) {
        self.pid = pid
        self.handles = handles
        self.command = command
        self.commandLine = commandLine
        self.cgroup = cgroup
        self.unit = unit
        self.vmName = vmName
        self.startedAt = startedAt
    }

    /// `pid 4242 (qemu-system-x86)`
    public var label: String {
        "pid " + String(pid) + (command.map { " (" + $0 + ")" } ?? "")
    }
}

/// Whether one device is held.
public enum HoldState: String, Sendable, Equatable, Codable {
    /// Not VFIO-bound and its group has no VFIO node: nothing can hold it through VFIO.
    case notVFIO = "not-vfio"
    /// The device is no longer on the bus.
    case gone
    case free
    /// At least one process holds its group node or the device itself.
    case held
    /// `enable` says the device is open, but no fd or mapping names it: see the likely holders.
    case openUnattributed = "open-unattributed"
    /// On its host driver, and a process has one of its host nodes open or mapped.
    case hostHeld = "host-held"

    public var isFree: Bool {
        switch self {
        case .notVFIO, .gone, .free: true
        case .held, .openUnattributed, .hostHeld: false
        }
    }
}

/// One device's verdict.
public struct TargetStatus: Sendable, Equatable {
    public var target: HolderTarget
    public var state: HoldState
    /// Processes holding it or its group node, by pid.
    public var holders: [Int32]
    /// The device is open (vfio-bound and `enable` ≥ 1).
    public var open: Bool

    public init(target: HolderTarget, state: HoldState, holders: [Int32], open: Bool) {
        self.target = target
        self.state = state
        self.holders = holders
        self.open = open
    }
}

/// Everything one scan found about a set of devices.
public struct HolderReport: Sendable, Equatable {
    public var targets: [TargetStatus]
    /// Processes that hold a target's group node or the device itself, by pid.
    public var holders: [HolderProcess]
    /// When a target is open but no handle names it: the processes with VFIO device fds or
    /// mappings the kernel does not attribute (before 6.18). The holder is probably among them.
    public var likelyHolders: [HolderProcess]
    public var stats: ScanStats

    public init(targets: [TargetStatus], holders: [HolderProcess], likelyHolders: [HolderProcess], stats: ScanStats) {
        self.targets = targets
        self.holders = holders
        self.likelyHolders = likelyHolders
        self.stats = stats
    }

    /// No target is held or open.
    public var isFree: Bool { targets.allSatisfy(\.state.isFree) }

    /// The processes worth a pidfd while waiting.
    public var watchPids: Set<Int32> {
        Set(holders.map(\.pid)).union(likelyHolders.map(\.pid))
    }

    public func holder(_ pid: Int32) -> HolderProcess? {
        holders.first { $0.pid == pid } ?? likelyHolders.first { $0.pid == pid }
    }
}
