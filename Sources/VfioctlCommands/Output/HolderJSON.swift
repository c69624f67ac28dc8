import VFIOKit

/// `vfioctl holders --json`. Absent facts are `null`, never missing keys.
struct HoldersDocument: Encodable {
    let report: HolderReport
    let now: Int64

    enum Keys: String, CodingKey { case schemaVersion, free, targets, holders, likelyHolders, scan }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(report.isFree, forKey: .free)
        try c.encode(report.targets.map(TargetStatusJSON.init), forKey: .targets)
        try c.encode(report.holders.map { HolderProcessJSON(process: $0, now: now) }, forKey: .holders)
        try c.encode(report.likelyHolders.map { HolderProcessJSON(process: $0, now: now) }, forKey: .likelyHolders)
        try c.encode(ScanJSON(stats: report.stats), forKey: .scan)
    }
}

/// `vfioctl wait --json`: the holders document of the last scan plus how the wait ended.
struct WaitDocument: Encodable {
    let outcome: WaitOutcome
    let timeout: Duration
    let now: Int64

    enum Keys: String, CodingKey { case schemaVersion, free, timedOut, waitedSeconds, timeoutSeconds, targets, holders, likelyHolders, scan }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let report = outcome.report
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(outcome.isFree, forKey: .free)
        try c.encode(!outcome.isFree, forKey: .timedOut)
        try c.encode(Self.seconds(outcome.waited), forKey: .waitedSeconds)
        try c.encode(Self.seconds(timeout), forKey: .timeoutSeconds)
        try c.encode(report.targets.map(TargetStatusJSON.init), forKey: .targets)
        try c.encode(report.holders.map { HolderProcessJSON(process: $0, now: now) }, forKey: .holders)
        try c.encode(report.likelyHolders.map { HolderProcessJSON(process: $0, now: now) }, forKey: .likelyHolders)
        try c.encode(ScanJSON(stats: report.stats), forKey: .scan)
    }

    /// Milliseconds precision, as a number of seconds.
    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000) / 1000
    }
}

struct TargetStatusJSON: Encodable {
    let status: TargetStatus
    init(_ status: TargetStatus) { self.status = status }

    enum Keys: String, CodingKey { case address, state, driver, vfioBound, iommuGroup, groupNode, deviceNode, enable, open, holders }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let t = status.target
        try c.encode(t.address.description, forKey: .address)
        try c.encode(status.state.rawValue, forKey: .state)
        try c.encode(t.driver, forKey: .driver)
        try c.encode(t.vfioBound, forKey: .vfioBound)
        try c.encode(t.group, forKey: .iommuGroup)
        try c.encode(t.groupNode?.path, forKey: .groupNode)
        try c.encode(t.deviceNode?.path, forKey: .deviceNode)
        try c.encode(t.enableCount, forKey: .enable)
        try c.encode(status.open, forKey: .open)
        try c.encode(status.holders, forKey: .holders)
    }
}

struct HolderProcessJSON: Encodable {
    let process: HolderProcess
    let now: Int64

    enum Keys: String, CodingKey { case pid, command, commandLine, cgroup, unit, vmName, startedAt, runningSeconds, handles }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let p = process
        try c.encode(p.pid, forKey: .pid)
        try c.encode(p.command, forKey: .command)
        try c.encode(p.commandLine, forKey: .commandLine)
        try c.encode(p.cgroup, forKey: .cgroup)
        try c.encode(p.unit, forKey: .unit)
        try c.encode(p.vmName, forKey: .vmName)
        try c.encode(p.startedAt.map(HolderRendering.timestamp), forKey: .startedAt)
        try c.encode(p.startedAt.map { max(0, now - $0) }, forKey: .runningSeconds)
        try c.encode(p.handles.map(HandleJSON.init), forKey: .handles)
    }
}

struct HandleJSON: Encodable {
    let handle: HeldHandle
    init(_ handle: HeldHandle) { self.handle = handle }

    enum Keys: String, CodingKey { case kind, fd, path, group, device, range }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(handle.kind.rawValue, forKey: .kind)
        try c.encode(handle.fd, forKey: .fd)
        try c.encode(handle.path, forKey: .path)
        try c.encode(handle.group, forKey: .group)
        try c.encode(handle.device?.description, forKey: .device)
        try c.encode(handle.range, forKey: .range)
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
