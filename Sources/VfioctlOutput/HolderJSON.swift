import VFIOModel

/// `vfioctl holders --json`. Absent facts are `null`, never missing keys.
package struct HoldersDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var free: Bool
    package var targets: [TargetStatusJSON]
    package var holders: [HolderProcessJSON]
    package var likelyHolders: [HolderProcessJSON]
    package var scan: ScanJSON

    package init(report: HolderReport, now: Int64) {
        free = report.isFree
        targets = report.targets.map(TargetStatusJSON.init)
        holders = report.holders.map { HolderProcessJSON(process: $0, now: now) }
        likelyHolders = report.likelyHolders.map { HolderProcessJSON(process: $0, now: now) }
        scan = ScanJSON(stats: report.stats)
    }
}

/// `vfioctl wait --json`: the holders document of the last scan plus how the wait ended.
package struct WaitDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var free: Bool
    package var timedOut: Bool
    package var waitedSeconds: Double
    package var timeoutSeconds: Double
    package var targets: [TargetStatusJSON]
    package var holders: [HolderProcessJSON]
    package var likelyHolders: [HolderProcessJSON]
    package var scan: ScanJSON

    package init(outcome: WaitOutcome, timeout: Duration, now: Int64) {
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
    package static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) / 1000
    }
}

package struct TargetStatusJSON: Encodable {
    package var address: String
    package var state: String
    @Nullable package var driver: String?
    package var vfioBound: Bool
    @Nullable package var iommuGroup: Int?
    @Nullable package var groupNode: String?
    @Nullable package var deviceNode: String?
    @Nullable package var enable: Int?
    var open: Bool
    package var holders: [Int32]
    /// The host's own nodes of a device on its host driver (empty for VFIO devices).
    package var hostNodes: [HostNodeJSON]

    package init(_ status: TargetStatus) {
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

package struct HostNodeJSON: Encodable {
    package var kind: String
    package var path: String
    package var number: String
    @Nullable package var via: String?

    package init(_ node: HostNode) {
        kind = node.kind.rawValue
        path = node.path
        number = node.number.description
        via = node.via
    }
}

package struct HolderProcessJSON: Encodable {
    package var pid: Int32
    @Nullable package var command: String?
    @Nullable package var commandLine: [String]?
    @Nullable package var cgroup: String?
    @Nullable package var unit: String?
    @Nullable package var vmName: String?
    @Nullable package var startedAt: String?
    @Nullable package var runningSeconds: Int64?
    package var handles: [HandleJSON]

    package init(process p: HolderProcess, now: Int64) {
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

package struct HandleJSON: Encodable {
    package var kind: String
    @Nullable package var fd: Int32?
    package var path: String
    @Nullable package var group: Int?
    @Nullable package var device: String?
    @Nullable package var range: String?

    package init(_ handle: HeldHandle) {
        kind = handle.kind.rawValue
        fd = handle.fd
        path = handle.path
        group = handle.group
        device = handle.device?.description
        range = handle.range
    }
}

package struct ScanJSON: Encodable {
    package let processes: Int
    package let vanished: Int
    package let unreadable: Int
    package let unreadablePids: [Int32]
    package let mapsRead: Int

    package init(stats: ScanStats) {
        processes = stats.processes
        vanished = stats.vanished
        unreadable = stats.unreadable
        unreadablePids = stats.unreadablePids
        mapsRead = stats.mapsRead
    }
}
