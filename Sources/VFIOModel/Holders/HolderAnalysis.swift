/// The pure half of the holder finder: from sysfs facts about the targets and the handles the
/// /proc scan found, decide which processes hold what and whether each target is free. No I/O.
public enum HolderAnalysis {
    /// The verdicts, and which processes to report. Process details are filled in later.
    public struct Verdict: Sendable, Equatable {
        public var targets: [TargetStatus]
        public var holders: [ScannedProcess]
        public var likelyHolders: [ScannedProcess]
    }

    /// Decides every target's state.
    ///
    /// - A process holds a target when it has the target's group node open (a group fd keeps the
    ///   group's DMA ownership: a host driver cannot bind any member while it is open) or a
    ///   handle the kernel attributes to the device (cdev, fdinfo `vfio-device-syspath`, mapped cdev).
    /// - A VFIO-bound device whose `enable` is ≥1 is open even when nothing names it (kernels
    ///   before 6.18 do not say which device an `anon_inode:[vfio-device]` fd is); it is then
    ///   `openUnattributed` unless a group holder is known.
    /// - Likely holders, listed when an open device has no attributed device-level handle: the
    ///   processes with unattributed device fds or mappings that have the device's group open or
    ///   no group open at all (a process with only other groups open is probably using those),
    ///   falling back to every such process if that leaves none.
    public static func classify(targets: [HolderTarget], processes: [ScannedProcess]) -> Verdict {
        let relevant = relevantHandles(targets: targets, processes: processes)
        let judged = judge(targets, relevant: relevant)
        var likely: [ScannedProcess] = []
        if judged.anyNeedy {
            likely = likelyHolders(relevant: relevant, processes: processes, needyGroups: judged.needyGroups)
                .filter { !judged.holderPids.contains($0.pid) }
        }
        let holders = judged.holderPids.sorted().map { ScannedProcess(pid: $0, handles: relevant[$0]!) }
        return Verdict(targets: judged.statuses, holders: holders, likelyHolders: likely)
    }

    /// Per process, the handles that matter for these targets; processes with none are left out.
    static func relevantHandles(targets: [HolderTarget], processes: [ScannedProcess]) -> [Int32: [HeldHandle]] {
        let targetAddresses = Set(targets.map(\.address))
        let targetGroups = Set(targets.filter { $0.groupNode != nil }.compactMap(\.group))
        var relevant: [Int32: [HeldHandle]] = [:]
        for process in processes {
            let handles = process.handles.filter { handle in
                switch handle.kind {
                case .group: handle.group.map(targetGroups.contains) ?? false
                // Unattributed device fds and mappings stay: they may be a target's.
                case .device, .mapping: handle.device.map(targetAddresses.contains) ?? true
                case .cdev, .hostNode: handle.device.map(targetAddresses.contains) ?? false
                case .container: true
                }
            }
            if !handles.isEmpty { relevant[process.pid] = handles }
        }
        return relevant
    }

    /// Every target's status, and what the likely-holder search needs: the processes already
    /// named as holders, and the groups of open targets without a device-level handle.
    struct Judged {
        var statuses: [TargetStatus] = []
        var holderPids = Set<Int32>()
        var needyGroups = Set<Int?>()
        var anyNeedy = false
    }

    static func judge(_ targets: [HolderTarget], relevant: [Int32: [HeldHandle]]) -> Judged {
        let anyUnattributed = relevant.values.contains { $0.contains(where: \.isUnattributedDevice) }
        var judged = Judged()
        for target in targets {
            guard target.present else {
                judged.statuses.append(TargetStatus(target: target, state: .gone, holders: [], open: false))
                continue
            }
            guard target.reachableThroughVFIO else {
                // On its host driver: held only through its host nodes.
                let holders = relevant.filter { holdsHostNode($0.value, target.address) }.keys.sorted()
                judged.holderPids.formUnion(holders)
                judged.statuses.append(TargetStatus(target: target, state: holders.isEmpty ? .notVFIO : .hostHeld, holders: holders, open: false))
                continue
            }
            let groupForMatch = target.groupNode != nil ? target.group : nil
            let holders = relevant.filter { holdsGroup($0.value, groupForMatch) || holdsDevice($0.value, target.address) }.keys.sorted()
            let deviceLevel = relevant.contains { holdsDevice($0.value, target.address) }
            // Unknown `enable` (unreadable attribute): open if any device fd is unaccounted for.
            let open = target.vfioBound && (target.enableCount.map { $0 >= 1 } ?? anyUnattributed)
            let state: HoldState = !holders.isEmpty ? .held : (open ? .openUnattributed : .free)
            if open && !deviceLevel {
                judged.anyNeedy = true
                judged.needyGroups.insert(target.group)
            }
            judged.holderPids.formUnion(holders)
            judged.statuses.append(TargetStatus(target: target, state: state, holders: holders, open: open))
        }
        return judged
    }

    static func holdsGroup(_ handles: [HeldHandle], _ group: Int?) -> Bool {
        guard let group else { return false }
        return handles.contains { $0.kind == .group && $0.group == group }
    }

    static func holdsDevice(_ handles: [HeldHandle], _ address: PCIAddress) -> Bool {
        handles.contains { $0.kind != .group && $0.kind != .container && $0.kind != .hostNode && $0.device == address }
    }

    static func holdsHostNode(_ handles: [HeldHandle], _ address: PCIAddress) -> Bool {
        handles.contains { $0.kind == .hostNode && $0.device == address }
    }

    /// The processes with unattributed device fds or mappings that hold one of `needyGroups` or
    /// no group at all; every such process if that leaves none. In pid order.
    static func likelyHolders(relevant: [Int32: [HeldHandle]], processes: [ScannedProcess], needyGroups: Set<Int?>) -> [ScannedProcess] {
        let candidates = relevant.filter { $0.value.contains(where: \.isUnattributedDevice) }
        // Group ids held by each candidate, among all groups the scan knows (targets or not).
        func groupsHeld(_ pid: Int32) -> Set<Int> {
            Set(processes.first { $0.pid == pid }?.handles.filter { $0.kind == .group }.compactMap(\.group) ?? [])
        }
        let narrowed = candidates.filter { entry in
            let held = groupsHeld(entry.key)
            return held.isEmpty || needyGroups.contains { $0.map(held.contains) ?? false }
        }
        let chosen = narrowed.isEmpty ? candidates : narrowed
        return chosen.keys.sorted().map { ScannedProcess(pid: $0, handles: relevant[$0]!) }
    }

    /// Which processes' maps the scan should read after the fd pass.
    public enum MapsScope: Sendable, Equatable {
        case none
        case some([Int32])
        case all
    }

    /// Maps matter only for an open target: a mapping keeps the device open, so a VFIO device
    /// whose `enable` is 0 has none. For an open one, read the maps of the processes with
    /// device fds (to show their mappings), or every process's when nothing explains the open
    /// device — no attributed device handle and no unattributed device fd anywhere — because
    /// then the holder may hold it only through a mapping (fd closed after mmap).
    public static func mapsNeeded(targets: [HolderTarget], processes: [ScannedProcess]) -> MapsScope {
        let verdict = classify(targets: targets, processes: processes)
        let open = verdict.targets.filter(\.open)
        guard !open.isEmpty else { return .none }
        let deviceHandle: (HeldHandle) -> Bool = { $0.kind == .device || $0.kind == .cdev || $0.kind == .mapping }
        let explained = open.allSatisfy { status in
            processes.contains { p in p.handles.contains { deviceHandle($0) && $0.device == status.target.address } }
        }
        let anyUnattributed = processes.contains { $0.handles.contains(where: \.isUnattributedDevice) }
        if !explained && !anyUnattributed { return .all }
        return .some(processes.filter { $0.handles.contains(where: deviceHandle) }.map(\.pid))
    }
}
