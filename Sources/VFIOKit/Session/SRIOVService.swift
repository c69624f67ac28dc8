import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Brings a PF to `request.numVFs` VFs and, with a driver, binds them as one transaction.
    ///
    /// Autoprobe goes off before `sriov_numvfs` is written, so no host driver ever probes a new
    /// VF. A change of the count removes every current VF, and removing a held VF blocks the
    /// writer in the kernel like a held unbind: so while any VF that would go is held or on a
    /// VFIO driver it is refused, or with `--timeout` waited for (holders looked up once more
    /// right before the write). The PF's first count and autoprobe are recorded before the first
    /// write, so `restore` puts them back; a bind that fails puts the count back too.
    /// - Throws: what stops it before a plan exists: bad input, no such device, not root, the lock.
    public func sriov(_ request: SRIOVRequest) throws(VFIOError) -> SRIOVOutcome {
        if let driver = request.vfDriver, driver != DriverName.auto { try BindPlanner.validate(driver: driver) }
        return try changingHost("sriov") { () throws(VFIOError) -> SRIOVOutcome in
            var flow = SRIOVFlow(session: self, request: request)
            return try flow.run()
        }
    }

    /// `restore`'s last part: every PF in the state file gets its original VF count and
    /// autoprobe back, unless one of its VFs is still held or on a VFIO driver. A dry run says
    /// what it would write, counting the VFs in `releasing` (which the same restore gives back
    /// first, once free) as given back already.
    func restoreSRIOV(releasing: Set<PCIAddress> = []) -> [SRIOVRestoreResult] {
        guard let state = try? store.load(), let records = state.sriov, !records.isEmpty else { return [] }
        guard let inventory = try? inventory() else { return [] }
        var results: [SRIOVRestoreResult] = []
        for record in records {
            results.append(restore(record, inventory: inventory, releasing: releasing))
        }
        return results
    }

    private func restore(_ record: SRIOVRecord, inventory: HostInventory, releasing: Set<PCIAddress>) -> SRIOVRestoreResult {
        var result = SRIOVRestoreResult(pf: record.address, numVFs: record.originalNumVFs, autoprobe: record.originalAutoprobe)
        guard let pf = inventory.device(record.address), let sriov = pf.sriov else {
            if !dryRun { result.warning = store.updateAfterChange("forgetting \(record.address)'s VF count") { $0.removeSRIOV(record.address) } }
            return result
        }
        let steps = SRIOVPlanner.restoreSteps(record, currentNumVFs: sriov.numVFs, currentAutoprobe: sriov.driversAutoprobe)
        result.steps = steps
        let removing = (sriov.numVFs != record.originalNumVFs ? sriov.virtualFunctions : []).filter { !(dryRun && releasing.contains($0)) }
        let onVFIO = removing.filter { inventory.device($0)?.isVFIOBound ?? false }
        let blockers = try? vfRemovalBlockers(removing, inventory: inventory)
        if !onVFIO.isEmpty || blockers.map({ !$0.isFree }) ?? true {
            var why = onVFIO.isEmpty ? [] : ["on a VFIO driver: " + onVFIO.map(\.description).joined(separator: " ")]
            why += blockers?.uses.map(\.what) ?? []
            if let report = blockers?.report, !report.isFree { why.append(report.summary) }
            if blockers == nil { why.append("cannot tell who holds them") }
            result.error = .refused(
                "\(record.address)'s VFs are still in use (\(why.joined(separator: "; "))): its sriov_numvfs stays \(sriov.numVFs)",
                target: record.address.description, remedy: "release them, then run vfioctl restore again")
            return result
        }
        if dryRun { return result }
        (result.error, result.warning) = SRIOVOperation(root: root, executor: executor()).restore(record, steps: steps)
        return result
    }
}

/// What stands in the way of removing VFs: processes holding them (their VFIO nodes, or on a
/// host driver its own nodes, such as an NVMe VF's `/dev/nvme2`), and host uses of VFs on host
/// drivers (a mounted namespace, an interface that is up with an address, a bridge port...).
/// Removing a VF unbinds its driver in the kernel: a held VFIO VF blocks the writer, and a
/// host driver's VF is simply torn away from whoever uses it.
struct VFRemovalBlockers {
    var report: HolderReport
    var uses: [DeviceUse]
    var isFree: Bool { report.isFree && uses.isEmpty }
}

extension HostSession {
    /// Holder scan options for VFs about to be removed: host nodes too, for VFs on host drivers.
    static let removalScan = HolderFinder.Options(hostNodes: true)

    func vfRemovalBlockers(_ vfs: [PCIAddress], inventory: HostInventory) throws(VFIOError) -> VFRemovalBlockers {
        guard !vfs.isEmpty else { return VFRemovalBlockers(report: HolderReport(targets: [], holders: [], likelyHolders: [], stats: ScanStats()), uses: []) }
        let onHost = vfs.compactMap { inventory.device($0) }.filter { !$0.isVFIOBound && $0.driver != nil }
        // A process on a host node is a holder (waitable); the other uses do not end by waiting.
        let uses = InUseDetector(root: root).uses(of: onHost).filter { $0.kind != .openDeviceNode }
        return VFRemovalBlockers(report: try holderFinder(options: Self.removalScan).find(vfs), uses: uses)
    }
}

/// The steps of one `sriov` run: plan, guard the VFs that would go, write, bind.
struct SRIOVFlow {
    let session: HostSession
    let request: SRIOVRequest

    /// The writes, once this flow has planned and checked them.
    var operation: SRIOVOperation { SRIOVOperation(root: session.root, executor: session.executor()) }

    mutating func run() throws(VFIOError) -> SRIOVOutcome {
        var (plan, inventory) = try makePlan()
        if plan.changesCount && !plan.removed.isEmpty {
            if let early = try guardRemoved(&plan, inventory: &inventory) { return early }
        }
        if session.dryRun {
            return SRIOVOutcome(result: .planned, plan: plan, bind: try dryRunBind(plan), vfs: plan.created ?? plan.currentVFs, changed: false)
        }
        return try execute(plan, inventory: inventory)
    }

    /// The plan, and the snapshot it was made from (the guards judge the same devices).
    func makePlan() throws(VFIOError) -> (SRIOVPlan, HostInventory) {
        let inventory = try session.inventory()
        guard let pf = inventory.device(request.pf) else {
            throw .unavailable("no PCI device \(request.pf)", target: request.pf.description, remedy: "vfioctl list")
        }
        let vfs = inventory.devices.filter { $0.physicalFunction == pf.address }
        let dir = session.root.device(pf.address)
        let layout = Sysfs.readInt(dir + "/sriov_offset").flatMap { offset in Sysfs.readInt(dir + "/sriov_stride").map { VFLayout(offset: offset, stride: $0) } }
        let plan = try SRIOVPlanner.plan(
            request, pf: pf, vfs: vfs, layout: layout, record: try session.store.load().sriovRecord(pf.address),
            vfTotalMSIX: Sysfs.readInt(session.root.path(SysfsPaths.vfTotalMSIX(pf.address))), time: Timestamp.now())
        return (plan, inventory)
    }

    /// The VFs that would be removed: refused while held or on a VFIO driver without
    /// `--timeout`; with it, waited for and planned again. Returns an outcome to end with.
    mutating func guardRemoved(_ plan: inout SRIOVPlan, inventory: inout HostInventory) throws(VFIOError) -> SRIOVOutcome? {
        let blockers = try session.vfRemovalBlockers(plan.removed, inventory: inventory)
        let report = blockers.report
        if !blockers.uses.isEmpty {
            // Waiting does not unmount a filesystem or take an address away: refused at once.
            let reasons = blockers.uses.map { Self.inUseError(plan, use: $0) } + (report.isFree ? [] : [Self.heldError(plan, report: report)])
            return SRIOVOutcome(result: .refused(reasons), plan: plan, bind: .none, vfs: plan.currentVFs, changed: false)
        }
        guard let timeout = request.wait else {
            var reasons: [VFIOError] = []
            if !report.isFree { reasons.append(Self.heldError(plan, report: report)) }
            if !plan.removedOnVFIO.isEmpty && report.isFree {
                let list = plan.removedOnVFIO.map(\.description).joined(separator: " ")
                reasons.append(
                    .refused(
                        "\(plan.pf): changing sriov_numvfs from \(plan.currentNumVFs) to \(request.numVFs) removes VFs on a VFIO driver (\(list))",
                        target: plan.pf.description, remedy: "pass --timeout D to wait until they are free and remove them, or vfioctl unbind \(list) first"))
            }
            return reasons.isEmpty ? nil : SRIOVOutcome(result: .refused(reasons), plan: plan, bind: .none, vfs: plan.currentVFs, changed: false)
        }
        if report.isFree || session.dryRun { return nil }
        let clock = ContinuousClock()
        let started = clock.now
        let result = try session.waitForHolders(plan.removed, timeout: timeout, since: started, finderOptions: HostSession.removalScan)
        guard result.isFree else {
            return SRIOVOutcome(result: .timedOut(result.report, waited: clock.now - started), plan: plan, bind: .none, vfs: plan.currentVFs, changed: false)
        }
        // It waited: the world may have moved on.
        (plan, inventory) = try makePlan()
        return nil
    }

    static func inUseError(_ plan: SRIOVPlan, use: DeviceUse) -> VFIOError {
        .refused(
            "\(plan.pf): changing sriov_numvfs from \(plan.currentNumVFs) to \(plan.request.numVFs) removes \(use.address), which the host uses: \(use.what)",
            target: plan.pf.description, remedy: use.remedy)
    }

    static func heldError(_ plan: SRIOVPlan, report: HolderReport) -> VFIOError {
        let held = report.targets.filter { !$0.state.isFree }.map(\.target.address.description).joined(separator: " ")
        return .refused(
            "\(plan.pf): changing sriov_numvfs from \(plan.currentNumVFs) to \(plan.request.numVFs) removes VFs that are in use (\(report.summary)): the write would block until they are released",
            target: plan.pf.description, remedy: "stop the VFs' users (vfioctl holders \(held)), or pass --timeout D to wait for them")
    }

    func dryRunBind(_ plan: SRIOVPlan) throws(VFIOError) -> SRIOVBind {
        guard let driver = request.vfDriver, request.numVFs > 0 else { return .none }
        if plan.changesCount {
            var chosen = driver
            if driver == DriverName.auto, var vf = try session.inventory().device(plan.pf) {
                // What auto would pick for a VF: the PF's ids with the VF device ID.
                vf.deviceID = vf.sriov?.vfDeviceID ?? vf.deviceID
                vf.physicalFunction = plan.pf
                chosen = VFIODriverChoice.choose(for: vf, aliases: ModuleAliasReader.read(root: session.root)).driver
            }
            return .predicted(driver: chosen, steps: SRIOVPlanner.predictedBindSteps(plan.created ?? [], driver: chosen))
        }
        let binding = plan.currentVFs.filter { !request.exclude.contains($0) }
        return binding.isEmpty ? .none : try bindDecision(binding, driver: driver)
    }

    func bindDecision(_ vfs: [PCIAddress], driver: String) throws(VFIOError) -> SRIOVBind {
        let inventory = try session.inventory()
        let (request, notes) = try session.resolveDriver(BindRequest(targets: vfs.map { .address($0) }, driver: driver), inventory: inventory)
        switch try session.planBind(request, inventory: inventory) {
        case .plan(var plan):
            plan.notes = notes + plan.notes
            return .plan(plan)
        case .refused(let refusal): throw .refused(refusal.reasons.map(\.line).joined(separator: "; "), target: vfs.first?.description)
        }
    }

    // MARK: - Writes

    func execute(_ plan: SRIOVPlan, inventory: HostInventory) throws(VFIOError) -> SRIOVOutcome {
        var changed = false
        if plan.changesCount {
            if let stopped = try writeCount(plan) { return stopped }
            changed = true
        }
        let vfs = currentVFs(plan.pf)
        if plan.msix != nil || !plan.msixRebind.isEmpty {
            if let stopped = try writeMSIX(plan, vfs: vfs, inventory: inventory) { return stopped }
            changed = true
        }
        return bindVFs(plan, vfs: vfs, changed: changed)
    }

    /// The new count, right after a last look at the VFs that go: a holder that came back
    /// would make the write block. - Returns: the outcome when it stopped there.
    func writeCount(_ plan: SRIOVPlan) throws(VFIOError) -> SRIOVOutcome? {
        if !plan.removed.isEmpty {
            let recheck = try session.holderFinder(options: HostSession.removalScan).find(plan.removed)
            if !recheck.isFree {
                return SRIOVOutcome(result: .refused([Self.heldError(plan, report: recheck)]), plan: plan, bind: .none, vfs: plan.currentVFs, changed: false)
            }
        }
        if let failure = try operation.setCount(plan) {
            return SRIOVOutcome(result: .failed(failure), plan: plan, bind: .none, vfs: currentVFs(plan.pf), changed: true)
        }
        return nil
    }

    /// `--msix`: each VF's vector count. - Returns: the outcome when it stopped there.
    func writeMSIX(_ plan: SRIOVPlan, vfs: [PCIAddress], inventory: HostInventory) throws(VFIOError) -> SRIOVOutcome? {
        guard !plan.msixRebind.isEmpty else {
            do throws(VFIOError) {
                try operation.setMSIX(plan, vfs: vfs)
                return nil
            } catch {
                return SRIOVOutcome(result: .failed(error), plan: plan, bind: .none, vfs: currentVFs(plan.pf), changed: true)
            }
        }
        // Each loses its driver for the write: a held VFIO VF would block the unbind, and a
        // host driver's VF would be taken from its users.
        // The count did not change (or there would be nothing to rebind), so the planning
        // snapshot still describes these VFs.
        let blockers = try session.vfRemovalBlockers(plan.msixRebind.map(\.address), inventory: inventory)
        if !blockers.isFree {
            let what = blockers.uses.map(\.what) + (blockers.report.isFree ? [] : [blockers.report.summary])
            let error = VFIOError.refused(
                "--msix: the VFs lose their driver while sriov_vf_msix_count is written, and they are in use (\(what.joined(separator: "; ")))",
                target: plan.pf.description, remedy: "stop their users (vfioctl holders \(plan.msixRebind.map(\.address.description).joined(separator: " "))), then run again")
            return SRIOVOutcome(result: .refused([error]), plan: plan, bind: .none, vfs: vfs, changed: false)
        }
        if let failure = operation.setMSIXRebinding(plan) {
            return SRIOVOutcome(result: .failed(failure), plan: plan, bind: .none, vfs: vfs, changed: true)
        }
        return nil
    }

    /// The VFs to their driver (`--bind`), or the PF's record settled when there is none.
    /// A failure puts the PF back when this run changed it.
    func bindVFs(_ initial: SRIOVPlan, vfs: [PCIAddress], changed: Bool) -> SRIOVOutcome {
        var plan = initial
        let binding = vfs.filter { !request.exclude.contains($0) }
        guard let driver = request.vfDriver, !binding.isEmpty else {
            var outcome = SRIOVOutcome(result: .done, plan: plan, bind: .none, vfs: vfs, changed: changed)
            if let warning = operation.settle(plan) { outcome.warnings.append(warning) }
            return outcome
        }
        let bind: SRIOVBind
        do {
            bind = try bindDecision(binding, driver: driver)
        } catch {
            let back = changed ? "; " + operation.putBack(plan) : ""
            return SRIOVOutcome(result: .refused([error.appending(back)]), plan: plan, bind: .none, vfs: currentVFs(plan.pf), changed: changed)
        }
        guard case .plan(let bindPlan) = bind else { return SRIOVOutcome(result: .done, plan: plan, bind: bind, vfs: vfs, changed: changed) }
        do throws(VFIOError) {
            _ = try BindOperation(root: session.root, executor: session.executor()).execute(bindPlan)
        } catch {
            let back = changed ? "; " + operation.putBack(plan) : ""
            return SRIOVOutcome(result: .failed(error.appending(back)), plan: plan, bind: bind, vfs: currentVFs(plan.pf), changed: changed)
        }
        plan.record.vfDriver = driver
        var outcome = SRIOVOutcome(result: .done, plan: plan, bind: bind, vfs: vfs, changed: changed || !bindPlan.isNoOp)
        if let warning = operation.recordVFDriver(plan.record) { outcome.warnings.append(warning) }
        return outcome
    }

    func currentVFs(_ pf: PCIAddress) -> [PCIAddress] {
        (try? session.inventory())?.device(pf)?.sriov?.virtualFunctions ?? []
    }

}

extension VFIOError {
    func appending(_ text: String) -> VFIOError {
        var copy = self
        copy.reason += text
        return copy
    }
}
