import VFIOKit

/// `vfioctl holders --json`. Absent facts are `null`, never missing keys.
struct HoldersDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var free: Bool
    var targets: [TargetStatusJSON]
    var holders: [HolderProcessJSON]
    var likelyHolders: [HolderProcessJSON]
    var scan: ScanJSON

    init(report: HolderReport, now: Int64) {
        free = report.isFree
        targets = report.targets.map(TargetStatusJSON.init)
        holders = report.holders.map { HolderProcessJSON(process: $0, now: now) }
        likelyHolders = report.likelyHolders.map { HolderProcessJSON(process: $0, now: now) }
        scan = ScanJSON(stats: report.stats)
    }
}

/// `vfioctl wait --json`: the holders document of the last scan plus how the wait ended.
struct WaitDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var free: Bool
    var timedOut: Bool
    var waitedSeconds: Double
    var timeoutSeconds: Double
    var targets: [TargetStatusJSON]
    var holders: [HolderProcessJSON]
    var likelyHolders: [HolderProcessJSON]
    var scan: ScanJSON

    init(outcome: WaitOutcome, timeout: Duration, now: Int64) {
        let report = HoldersDocument(report: outcome.report, now: now)
        free = outcome.isFree
        timedOut = !outcome.isFree
        waitedSeconds = Self.seconds(outcome.waited)
        timeoutSeconds = Self.seconds(timeout)
        targets = report.targets
        holders = report.holders
        likelyHolders = report.likelyHolders
        scan = report.scan
    }

    /// Milliseconds precision, as a number of seconds.
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) / 1000
    }
}

struct TargetStatusJSON: Encodable {
    var address: String
    var state: String
    @Nullable var driver: String?
    var vfioBound: Bool
    @Nullable var iommuGroup: Int?
    @Nullable var groupNode: String?
    @Nullable var deviceNode: String?
    @Nullable var enable: Int?
    var open: Bool
    var holders: [Int32]
    /// The host's own nodes of a device on its host driver (empty for VFIO devices).
    var hostNodes: [HostNodeJSON]

    init(_ status: TargetStatus) {
        let t = status.target
        address = t.address.description
        state = status.state.rawValue
        driver = t.driver
        vfioBound = t.vfioBound
        iommuGroup = t.group
        groupNode = t.groupNode?.path
        deviceNode = t.deviceNode?.path
        enable = t.enableCount
        open = status.open
        holders = status.holders
        hostNodes = t.hostNodes.map(HostNodeJSON.init)
    }
}

struct HostNodeJSON: Encodable {
    var kind: String
    var path: String
    var number: String
    @Nullable var via: String?

    init(_ node: HostNode) {
        kind = node.kind.rawValue
        path = node.path
        number = node.number.description
        via = node.via
    }
}

struct HolderProcessJSON: Encodable {
    var pid: Int32
    @Nullable var command: String?
    @Nullable var commandLine: [String]?
    @Nullable var cgroup: String?
    @Nullable var unit: String?
    @Nullable var vmName: String?
    @Nullable var startedAt: String?
    @Nullable var runningSeconds: Int64?
    var handles: [HandleJSON]

    init(process p: HolderProcess, now: Int64) {
        pid = p.pid
        command = p.command
        commandLine = p.commandLine
        cgroup = p.cgroup
        unit = p.unit
        vmName = p.vmName
        startedAt = p.startedAt.map(HolderRendering.timestamp)
        runningSeconds = p.startedAt.map { max(0, now - $0) }
        handles = p.handles.map(HandleJSON.init)
    }
}

struct HandleJSON: Encodable {
    var kind: String
    @Nullable var fd: Int32?
    var path: String
    @Nullable var group: Int?
    @Nullable var device: String?
    @Nullable var range: String?

    init(_ handle: HeldHandle) {
        kind = handle.kind.rawValue
        fd = handle.fd
        path = handle.path
        group = handle.group
        device = handle.device?.description
        range = handle.range
    }
}

struct ScanJSON: Encodable {
    let processes: Int
    let vanished: Int
    let unreadable: Int
    let unreadablePids: [Int32]
    let mapsRead: Int

    init(stats: ScanStats) {
        processes = stats.processes
        vanished = stats.vanished
        unreadable = stats.unreadable
        unreadablePids = stats.unreadablePids
        mapsRead = stats.mapsRead
    }
}
