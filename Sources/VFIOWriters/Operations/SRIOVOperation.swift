import VFIOHost
import VFIOModel

/// Carries out the writes of an `SRIOVPlan` once the session has planned it and checked the
/// VFs that go (it holds `HostLock`): records the PF's original count and autoprobe in the
/// state file **before** the first write, writes the count and the VFs' MSI-X vectors, and on a
/// failure puts the PF back as it was. A state-file update after the host changed does not undo
/// the change; its failure comes back as a warning, never dropped.
public struct SRIOVOperation: Sendable {
    public let root: HostRoot
    public let executor: Executor
    public let store: StateStore

    public init(root: HostRoot, executor: Executor) {
        self.root = root
        self.executor = executor
        self.store = StateStore(root: root)
    }

    /// Records the PF, forgets the VFs that go with the write, then writes the count.
    /// - Returns: nil when the count was written; the failure of a write otherwise, after the
    ///   PF was put back (the message says how that went).
    /// - Throws: `.failed` when the record cannot be written (nothing was changed).
    public func setCount(_ plan: SRIOVPlan) throws(VFIOError) -> VFIOError? {
        do {
            try store.update { state in
                state.upsert(plan.record)
                // The VFs go away with the write; their records with them.
                for vf in plan.removed { state.remove(vf) }
            }
        } catch {
            throw .failed("cannot record \(plan.pf)'s VF count in \(HostFiles.state) (\(error.message)); nothing was changed")
        }
        do throws(StepFailure) {
            try executor.run(plan.steps)
            return nil
        } catch {
            return .failed("cannot set \(plan.pf)'s VFs to \(plan.request.numVFs): \(error.message); \(putBack(plan))")
        }
    }

    /// `--msix` on VFs without a driver: each VF's count. - Throws: `.failed`, with the PF put
    /// back when this run changed its count.
    public func setMSIX(_ plan: SRIOVPlan, vfs: [PCIAddress]) throws(VFIOError) {
        do throws(StepFailure) {
            try executor.run(SRIOVPlanner.msixSteps(vfs, count: plan.msix))
        } catch {
            let back = plan.changesCount ? "; " + putBack(plan) : ""
            throw .failed("cannot set the VFs' MSI-X vectors: \(error.message)" + back)
        }
    }

    /// `--msix` on VFs that have drivers: each VF off its driver, its count written, and its
    /// driver back whatever the write did. Returns what failed, if anything.
    public func setMSIXRebinding(_ plan: SRIOVPlan) -> VFIOError? {
        guard let count = plan.msix else { return nil }
        var failures: [String] = []
        for vf in plan.msixRebind {
            do throws(StepFailure) {
                try executor.run(SRIOVPlanner.unbindSteps(vf))
            } catch {
                failures.append("\(vf.address): cannot unbind it (\(error.message)); its count is unchanged")
                continue
            }
            var wrote: String?
            do throws(StepFailure) {
                try executor.run([.write(.setMSIXCount(vf.address, to: count))])
            } catch {
                wrote = "\(vf.address): cannot set sriov_vf_msix_count (\(error.message))"
            }
            do throws(StepFailure) {
                try executor.run(SRIOVPlanner.rebindSteps(vf))
                if let wrote { failures.append(wrote + "; back on \(vf.state.driver ?? "no driver")") }
            } catch {
                failures.append((wrote.map { $0 + "; " } ?? "\(vf.address): ") + "cannot bind \(vf.state.driver ?? "it") again (\(error.message)); left unbound")
            }
        }
        return failures.isEmpty ? nil : .failed("--msix: " + failures.joined(separator: "; "), target: plan.pf.description)
    }

    /// After a success without a VF driver: a PF back exactly as it was needs no record.
    /// Returns a warning when the state file could not be updated.
    public func settle(_ plan: SRIOVPlan) -> String? {
        let autoprobe = self.autoprobe(plan.pf)
        return store.updateAfterChange("recording \(plan.pf)'s VF count") { state in
            guard let record = state.sriovRecord(plan.pf) else { return }
            if record.numVFs == record.originalNumVFs && record.vfDriver == nil && (autoprobe == nil || autoprobe == record.originalAutoprobe) {
                state.removeSRIOV(plan.pf)
            }
        }
    }

    /// After the VFs' bind: the driver they are on, in the PF's record. Returns a warning when
    /// the state file could not be updated.
    public func recordVFDriver(_ record: SRIOVRecord) -> String? {
        store.updateAfterChange("recording \(record.address)'s VF driver") { state in state.upsert(record) }
    }

    /// After a failure: the PF's count and autoprobe as they were before this run.
    public func putBack(_ plan: SRIOVPlan) -> String {
        let current = Sysfs.readInt(root.path(SysfsPaths.numVFs(plan.pf))) ?? 0
        let autoprobe = self.autoprobe(plan.pf)
        let before = SRIOVRecord(
            address: plan.pf, originalNumVFs: plan.currentNumVFs, originalAutoprobe: plan.currentAutoprobe, numVFs: current, vfDriver: nil, time: Timestamp.now())
        do throws(StepFailure) {
            try executor.run(SRIOVPlanner.restoreSteps(before, currentNumVFs: current, currentAutoprobe: autoprobe))
            let stale = store.updateAfterChange("forgetting \(plan.pf)'s VF count") { state in
                if plan.record.originalNumVFs == plan.currentNumVFs && plan.record.originalAutoprobe == plan.currentAutoprobe {
                    state.removeSRIOV(plan.pf)
                }
            }
            return "sriov_numvfs put back to \(plan.currentNumVFs)" + (stale.map { "; " + $0 } ?? "")
        } catch {
            return "putting sriov_numvfs back to \(plan.currentNumVFs) failed too (\(error.message)); \(HostFiles.state) records the original"
        }
    }

    /// `restore`: a PF back to the count and autoprobe its record keeps, then the record
    /// forgotten. - Returns: why the writes failed (the record is kept), or a warning when the
    /// PF is back but its record could not be dropped.
    public func restore(_ record: SRIOVRecord, steps: [OperationStep]) -> (error: VFIOError?, warning: String?) {
        do throws(StepFailure) {
            try executor.run(steps)
        } catch {
            return (.failed("cannot put \(record.address)'s VFs back: \(error.message)", target: record.address.description), nil)
        }
        return (nil, store.updateAfterChange("forgetting \(record.address)'s VF count") { $0.removeSRIOV(record.address) })
    }

    func autoprobe(_ pf: PCIAddress) -> Bool? {
        Sysfs.readInt(root.path(SysfsPaths.driversAutoprobe(pf))).map { $0 != 0 }
    }
}

extension StateStore {
    /// A state-file update after the host already changed: its failure does not undo the
    /// change, so it becomes a warning for the outcome. nil when it was written.
    public func updateAfterChange(_ what: String, _ body: (inout HostState) -> Void) -> String? {
        do {
            try update(body)
            return nil
        } catch {
            return "the host was changed, but \(HostFiles.state) could not be updated (\(what)): \(error.message)"
        }
    }
}
