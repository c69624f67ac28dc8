/// What `list` shows, read in one go: the snapshot, and the VFIO nodes of its VFIO-bound
/// functions (only a `--json` document reports those).
public struct HostListing: Sendable {
    public var inventory: HostInventory
    public var nodes: [PCIAddress: VFIONodes]

    public init(inventory: HostInventory, nodes: [PCIAddress: VFIONodes] = [:]) {
        self.inventory = inventory
        self.nodes = nodes
    }
}

/// How much of each function `list` shows, which decides what is read.
public enum ListDetail: Sendable, Equatable {
    /// The table: the core fields and names.
    case table
    /// `--tree`: the table's fields with the hierarchy and header types.
    case tree
    /// `--json`: everything, the VFIO nodes included.
    case document
    /// `--quiet`: only whether the listing can be read.
    case none
}

/// What `show` found: the devices the target names, their holders, config space and nodes,
/// and the snapshot, all read before anything is drawn.
public struct ShowView: Sendable {
    public var target: Target
    public var devices: [PCIDevice]
    /// Per device (same order): its part of the holder scan, nil when the scan cannot say
    /// anything about it (neither VFIO-bound nor with host nodes) or failed.
    public var holders: [HolderReport?]
    public var inventory: HostInventory
    /// Config space of each device shown one by one (none for a group's page).
    public var config: [PCIAddress: ConfigReport]
    /// The VFIO nodes of each VFIO-bound device shown, with the nodes the kernel makes.
    public var nodes: [PCIAddress: VFIONodes]
    /// Names for the owners of those nodes (`/etc/passwd`, `/etc/group`).
    public var users: UserDatabase
    /// The VM each recorded device was bound for (`vfioctl hook`).
    public var domains: [PCIAddress: String]
    /// Whether VFIO will attach each group shown on this host.
    public var attach: [Int: AttachVerdict]

    public init(
        target: Target, devices: [PCIDevice], holders: [HolderReport?], inventory: HostInventory, config: [PCIAddress: ConfigReport] = [:],
        nodes: [PCIAddress: VFIONodes] = [:], users: UserDatabase = UserDatabase(), domains: [PCIAddress: String] = [:],
        attach: [Int: AttachVerdict] = [:]
    ) {
        self.target = target
        self.devices = devices
        self.holders = holders
        self.inventory = inventory
        self.config = config
        self.nodes = nodes
        self.users = users
        self.domains = domains
        self.attach = attach
    }
}

/// What `holders` found: one scan for the targets, and the VM each recorded device was bound for.
public struct HoldersView: Sendable {
    public var report: HolderReport
    public var domains: [PCIAddress: String]

    public init(report: HolderReport, domains: [PCIAddress: String]) {
        self.report = report
        self.domains = domains
    }
}

/// How a `wait` ended, for the targets it resolved.
public struct WaitView: Sendable {
    public var addresses: [PCIAddress]
    public var outcome: WaitOutcome
    public var timeout: Duration

    public init(addresses: [PCIAddress], outcome: WaitOutcome, timeout: Duration) {
        self.addresses = addresses
        self.outcome = outcome
        self.timeout = timeout
    }
}

/// What `cdi` made: the spec, and where `--output` was given, what became of the file.
public struct CDIView: Sendable {
    public var spec: CDISpec
    public var update: CDIUpdate?

    public init(spec: CDISpec, update: CDIUpdate?) {
        self.spec = spec
        self.update = update
    }
}
