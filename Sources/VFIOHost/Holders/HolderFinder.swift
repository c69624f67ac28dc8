import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Finds the processes that hold VFIO devices: the group node and the device cdev (matched by
/// device number), anonymous device fds (attributed through fdinfo on 6.18+) and device
/// mappings, plus the `enable` signal for devices that are open when nothing names them.
///
/// One finder can be asked many times (the waiter rescans with it); each call reads sysfs and
/// /proc afresh. Everything is read under the root prefix.
///
///     let report = try HolderFinder(root: root).find([address])
///     if !report.isFree { … report.holders … }
public final class HolderFinder {
    public let root: HostRoot
    public var options: Options
    /// What the nodes that fds point at stand for (`st_rdev` on a host).
    public let deviceNumbers: DeviceNumbers

    public struct Options: Sendable {
        /// When to read `/proc/PID/maps`.
        public var mappings: MappingScan
        /// Read comm, cmdline, cgroup and start time of reported processes.
        public var details: Bool
        /// Threads for the fd pass; nil picks by process count and CPUs.
        public var threads: Int?
        /// Also find host processes holding targets that are on their host drivers, through the
        /// host's own nodes of them (`HostNodeReader`), in the same pass over /proc.
        public var hostNodes: Bool

        public init(mappings: MappingScan = .auto, details: Bool = true, threads: Int? = nil, hostNodes: Bool = false) {
            self.mappings = mappings
            self.details = details
            self.threads = threads
            self.hostNodes = hostNodes
        }
    }

    public enum MappingScan: Sendable {
        /// Only when a target is open (a mapping keeps it open, so a closed device has none):
        /// the maps of processes with VFIO device fds, or of every process when no fd explains
        /// the open device (the holder may have closed its fd after mmap).
        case auto
        /// Every process's maps, always.
        case all
        case none
    }

    public init(root: HostRoot, options: Options = Options(), deviceNumbers: DeviceNumbers = .real) {
        self.root = root
        self.options = options
        self.deviceNumbers = deviceNumbers
    }

    /// Scans for holders of `devices`.
    /// - Throws: `.unavailable` when `<root>/proc` cannot be read.
    public func find(_ devices: [PCIAddress]) throws(VFIOError) -> HolderReport {
        let reader = HolderTargetReader(root: root, deviceNumbers: deviceNumbers)
        let groups = reader.groupNodes()
        var targets = devices.map { reader.read($0, groups: groups) }
        if options.hostNodes { addHostNodes(&targets) }
        if targets.allSatisfy({ !$0.present || (!$0.reachableThroughVFIO && $0.hostNodes.isEmpty) }) {
            // Nothing any process could hold: no walk over /proc.
            return report(targets: targets, processes: [], stats: ScanStats())
        }
        let scanner = ProcScanner(
            root: root, table: ScanTable(targets: targets, groups: groups, containers: reader.containerNumbers()), deviceNumbers: deviceNumbers)
        guard let procFD = scanner.openProc() else {
            throw .unavailable("cannot read \(root.proc): " + String(cString: strerror(errno)) + " (is procfs mounted?)", target: root.proc)
        }
        defer { close(procFD) }
        var stats = ScanStats()
        var processes = scanner.scanAllFDs(procFD, threads: options.threads, stats: &stats)
        addMappings(scanner, procFD, targets: targets, processes: &processes, stats: &stats)
        return report(targets: targets, processes: processes, stats: stats)
    }

    /// The pids among `pids` that still have a handle on the given devices or their groups. The
    /// waiter asks this right after opening pidfds, so each pidfd is known to refer to the holder
    /// and not to a process that reused its pid (docs/kernel-notes.md, "Waiting for holders").
    public func stillHolding(_ pids: [Int32], devices: [PCIAddress]) -> Set<Int32> {
        guard !pids.isEmpty else { return [] }
        let reader = HolderTargetReader(root: root, deviceNumbers: deviceNumbers)
        let groups = reader.groupNodes()
        var targets = devices.map { reader.read($0, groups: groups) }
        // A wait for host holders (bind --wait) checks the same nodes it waits on.
        if options.hostNodes { addHostNodes(&targets) }
        let scanner = ProcScanner(root: root, table: ScanTable(targets: targets, groups: groups, containers: []), deviceNumbers: deviceNumbers)
        guard let procFD = scanner.openProc() else { return [] }
        defer { close(procFD) }
        var stats = ScanStats()
        var processes: [ScannedProcess] = []
        for pid in pids {
            var handles = scanner.scanFDs(procFD, pid: pid, stats: &stats) ?? []
            if handles.isEmpty && options.mappings != .none { handles = scanner.scanMaps(procFD, pid: pid, stats: &stats) }
            if !handles.isEmpty { processes.append(ScannedProcess(pid: pid, handles: handles)) }
        }
        let verdict = HolderAnalysis.classify(targets: targets, processes: processes)
        return Set(verdict.holders.map(\.pid)).union(verdict.likelyHolders.map(\.pid))
    }

    /// The host nodes of the targets on host drivers (a VFIO-bound device has none).
    private func addHostNodes(_ targets: inout [HolderTarget]) {
        let onHost = targets.filter { $0.present && !$0.vfioBound }.map(\.address)
        guard !onHost.isEmpty else { return }
        let nodes = HostNodeReader(root: root).nodes(of: onHost)
        for i in targets.indices { targets[i].hostNodes = nodes[targets[i].address] ?? [] }
    }

    private func addMappings(_ scanner: ProcScanner, _ procFD: Int32, targets: [HolderTarget], processes: inout [ScannedProcess], stats: inout ScanStats) {
        let pids: [Int32]
        switch options.mappings {
        case .none:
            return
        case .all:
            pids = scanner.pids(procFD)
        case .auto where targets.contains { !$0.hostNodes.isEmpty }:
            // A host node stays open while mapped (a GPU's buffers), and nothing tells whether
            // it is: every process's maps are read.
            pids = scanner.pids(procFD)
        case .auto:
            switch HolderAnalysis.mapsNeeded(targets: targets, processes: processes) {
            case .none: return
            case .all: pids = scanner.pids(procFD)
            case .some(let some): pids = some
            }
        }
        var index: [Int32: Int] = [:]
        for (i, process) in processes.enumerated() { index[process.pid] = i }
        for pid in pids {
            let mappings = scanner.scanMaps(procFD, pid: pid, stats: &stats)
            guard !mappings.isEmpty else { continue }
            if let i = index[pid] {
                processes[i].handles += mappings
            } else {
                index[pid] = processes.count
                processes.append(ScannedProcess(pid: pid, handles: mappings))
            }
        }
    }

    private func report(targets: [HolderTarget], processes: [ScannedProcess], stats: ScanStats) -> HolderReport {
        let verdict = HolderAnalysis.classify(targets: targets, processes: processes)
        let details = options.details ? ProcessDetailsReader(root: root) : nil
        func fill(_ p: ScannedProcess) -> HolderProcess {
            details?.fill(p) ?? HolderProcess(pid: p.pid, handles: p.handles)
        }
        return HolderReport(
            targets: verdict.targets, holders: verdict.holders.map(fill), likelyHolders: verdict.likelyHolders.map(fill), stats: stats)
    }
}
