import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Gives VFIO-bound devices back (unbind, restore) or re-probes them on the same VFIO
    /// driver (cycle), only once no process holds them: a held device is never unbound, because
    /// the kernel's unbind would sleep until the holder lets go.
    ///
    /// The lock is held throughout, the wait included, so no other vfioctl changes the devices
    /// while this one waits for them. After a wait the world may have moved on, so the plan is
    /// made again from a fresh snapshot and the holders are looked up once more right before
    /// the first write.
    /// - Throws: what stops it before anything is planned: bad targets, no such device, not root,
    ///   the lock, a scan that cannot read /proc.
    public func release(_ request: ReleaseRequest, wait: ReleaseWait) throws(VFIOError) -> ReleaseOutcome {
        try changingHost(request.kind.rawValue) { () throws(VFIOError) -> ReleaseOutcome in
            var flow = ReleaseFlow(session: self, request: request, wait: wait)
            return try flow.run()
        }
    }

    /// Every device in the state file (or, with `domain`, every device recorded as bound for
    /// that VM) back to its original driver and override. Groups are released independently:
    /// one whose holders stay past the timeout does not keep the others. On a whole restore, PFs
    /// whose VF count vfioctl changed get their count and autoprobe back last, once their VFs
    /// are released.
    public func restore(wait: ReleaseWait, domain: String? = nil) throws(VFIOError) -> ReleaseOutcome {
        try changingHost("restore") { () throws(VFIOError) -> ReleaseOutcome in
            let outcome = try release(ReleaseRequest(kind: .restore, targets: [], domain: domain), wait: wait)
            // One VM's devices: the PFs' VF counts are the host's, not the VM's.
            guard domain == nil else { return outcome }
            switch outcome {
            case .refused: return outcome
            case .planned(let plan, let holders, let wait, _):
                return .planned(plan, holders: holders, wait: wait, sriov: restoreSRIOV(releasing: Set(plan.moves.map(\.address))))
            case .finished(var run):
                run.sriov = restoreSRIOV()
                return .finished(run)
            }
        }
    }

    /// Unbinds and re-probes the same VFIO driver once the devices are free, so the kernel
    /// re-reads state vfio-pci caches across opens.
    public func cycle(_ targets: [Target], wait: ReleaseWait) throws(VFIOError) -> ReleaseOutcome {
        try release(ReleaseRequest(kind: .cycle, targets: targets), wait: wait)
    }
}

/// The steps of one release: plan, refuse held VFs, wait and re-check, write.
struct ReleaseFlow {
    let session: HostSession
    let request: ReleaseRequest
    let wait: ReleaseWait
    let clock = ContinuousClock()

    mutating func run() throws(VFIOError) -> ReleaseOutcome {
        let plan: ReleasePlan
        switch try makePlan() {
        case .refused(let refusal): return .refused(refusal)
        case .plan(let made): plan = made
        }
        if session.dryRun {
            let holders = try? session.holderFinder().find(plan.waitFor + plan.virtualFunctions)
            return .planned(plan, holders: holders, wait: wait)
        }
        if plan.isNoOp {
            // Records of devices already back where they came from, or gone from the bus.
            if !plan.staleRecords.isEmpty { try? session.store.remove(plan.staleRecords) }
            return .finished(ReleaseRun(plan: plan, wait: wait))
        }
        return try waitAndRelease(plan)
    }

    func makePlan() throws(VFIOError) -> ReleaseDecision {
        let inventory = try session.inventory()
        let state = try session.store.load()
        let drivers = Set(Sysfs.list(session.root.pciDrivers) ?? [])
        return try ReleasePlanner.plan(request, inventory: inventory, state: state, loadedDrivers: drivers)
    }

    /// Waits until the plan's devices are free, planning again after any real wait, then writes.
    func waitAndRelease(_ initial: ReleasePlan) throws(VFIOError) -> ReleaseOutcome {
        var plan = initial
        var run = ReleaseRun(plan: plan, wait: wait)
        var held = try heldVirtualFunctions(plan)
        if let refusal = held.refusalForWholeRun(request.kind) { return .refused(refusal) }
        let started = clock.now
        var ready: [ReleaseUnit] = []
        while true {
            let candidates = plan.units.filter { unit in !held.units.contains { $0.isSame(as: unit) } }
            let result = try waitUntilFree(candidates, started: started)
            run.waited = clock.now - started
            run.scans += result.scans
            if !result.isFree {
                run.lastReport = result.report
                guard request.kind == .restore, case let free = candidates.filter({ Self.isFree($0, in: result.report) }), !free.isEmpty else {
                    return .finished(gaveUp(run, plan: plan, candidates: candidates, held: held))
                }
                // restore: the groups that are free go now; the others are reported.
                let recheck = try session.holderFinder().find(ReleasePlan.unique(free.flatMap(\.waitFor)))
                ready = free.filter { Self.isFree($0, in: recheck) }
                run.timedOut = candidates.filter { unit in !ready.contains { $0.isSame(as: unit) } }
                break
            }
            if result.scans <= 1 {
                // Free at the first look, which was just now.
                ready = candidates
                break
            }
            // It waited: plan again from a fresh snapshot, check the VFs again, and look once
            // more; a holder that came back means waiting again.
            switch try makePlan() {
            case .refused(let refusal): return .refused(refusal)
            case .plan(let again): plan = again
            }
            if plan.isNoOp { break }
            held = try heldVirtualFunctions(plan)
            if let refusal = held.refusalForWholeRun(request.kind) { return .refused(refusal) }
            let again = plan.units.filter { unit in !held.units.contains { $0.isSame(as: unit) } }
            let recheck = try session.holderFinder().find(ReleasePlan.unique(again.flatMap(\.waitFor)))
            if recheck.isFree {
                ready = again
                break
            }
            if wait.noWait || clock.now - started >= wait.timeout {
                run.lastReport = recheck
                return .finished(gaveUp(run, plan: plan, candidates: again, held: held))
            }
        }
        run.plan = plan
        run.refused = held.units
        run.refusals = held.reasons
        run.report = ReleaseOperation(root: session.root, executor: session.executor()).execute(
            ready, kind: request.kind, atomic: request.kind != .restore, dropRecords: plan.staleRecords)
        return .finished(run)
    }

    /// One bounded wait for the units' devices; progress counts the whole wait, not this round.
    func waitUntilFree(_ units: [ReleaseUnit], started: ContinuousClock.Instant) throws(VFIOError) -> WaitOutcome {
        try session.waitForHolders(ReleasePlan.unique(units.flatMap(\.waitFor)), timeout: wait.timeout, since: started)
    }

    func gaveUp(_ run: ReleaseRun, plan: ReleasePlan, candidates: [ReleaseUnit], held: HeldVirtualFunctions) -> ReleaseRun {
        var run = run
        run.plan = plan
        run.timedOut = candidates
        run.refused = held.units
        run.refusals = held.reasons
        return run
    }

    static func isFree(_ unit: ReleaseUnit, in report: HolderReport) -> Bool {
        unit.waitFor.allSatisfy { address in report.targets.first { $0.target.address == address }?.state.isFree ?? true }
    }

    // MARK: - SR-IOV

    /// Units whose PF has held VFs: a PF's unbind removes its VFs, and removing a held VF
    /// blocks the writer like a held unbind. Refused, not waited for: the user has to stop them.
    struct HeldVirtualFunctions {
        var units: [ReleaseUnit] = []
        var reasons: [ReleaseRefusal.Reason] = []

        /// unbind and cycle refuse outright; restore reports those units and goes on.
        func refusalForWholeRun(_ kind: ReleaseRequest.Kind) -> ReleaseRefusal? {
            guard !reasons.isEmpty, kind != .restore else { return nil }
            return ReleaseRefusal(reasons: reasons)
        }
    }

    func heldVirtualFunctions(_ plan: ReleasePlan) throws(VFIOError) -> HeldVirtualFunctions {
        let vfs = plan.virtualFunctions
        guard !vfs.isEmpty else { return HeldVirtualFunctions() }
        let report = try session.holderFinder().find(vfs)
        guard !report.isFree else { return HeldVirtualFunctions() }
        var held = HeldVirtualFunctions()
        for unit in plan.units {
            for move in unit.moves where !move.virtualFunctions.isEmpty {
                let busy = report.targets.filter { move.virtualFunctions.contains($0.target.address) && !$0.state.isFree }
                guard !busy.isEmpty else { continue }
                let partial = HolderReport(targets: busy, holders: report.holders, likelyHolders: report.likelyHolders, stats: report.stats)
                held.reasons.append(ReleaseRefusal.Reason(heldVirtualFunctionsOf: move, report: partial))
                if !held.units.contains(where: { $0.isSame(as: unit) }) { held.units.append(unit) }
            }
        }
        return held
    }
}

extension ReleasePlan {
    /// Records to forget whatever happens: devices already back on their original driver, or
    /// gone from the bus.
    var staleRecords: [PCIAddress] {
        kept.filter { $0.reason == .unchanged || $0.reason == .gone }.map(\.address)
    }
}

extension ReleaseRefusal.Reason {
    /// A PF whose VFs `report` shows held: its unbind would remove them and block.
    init(heldVirtualFunctionsOf move: ReleaseMove, report: HolderReport) {
        let held = report.targets.map(\.target.address.description).joined(separator: " ")
        self.init(
            kind: .virtualFunctions, address: move.address, group: move.group, driver: move.from.driver,
            message: "\(move.address) is an SR-IOV PF whose VFs are in use (\(report.summary)): unbinding it would remove them and block until they are released",
            remedy: "stop the VFs' users first (vfioctl holders \(held))")
    }
}
