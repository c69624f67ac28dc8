import VFIOHost
import VFIOModel

/// Carries out a `BindPlan`: loads the driver's module if needed, records every device's
/// original driver and override in the state file **before** the first sysfs write, runs the
/// moves as one transaction, and leaves the state file saying where things are, whatever
/// happened. The caller holds `HostLock`.
public struct BindOperation: Sendable {
    public let root: HostRoot
    public let executor: Executor
    public let store: StateStore

    public init(root: HostRoot, executor: Executor) {
        self.root = root
        self.executor = executor
        self.store = StateStore(root: root)
    }

    /// - Returns: the report when every move was made and verified (or there was nothing to do).
    /// - Throws: `.unavailable` when the driver cannot be loaded (nothing changed);
    ///   `.failed` when the state file cannot be written (nothing changed) or a step failed and
    ///   everything was rolled back; `.rollbackFailed` when the rollback failed too.
    public func execute(_ plan: BindPlan) throws(VFIOError) -> BindReport {
        if plan.isNoOp {
            guard plan.owner != nil else { return BindReport(moved: [], moduleLoaded: nil, warnings: []) }
            return try ownAlreadyBound(plan)
        }
        if let module = plan.loadModule {
            do {
                try executor.run(.loadModule(module))
            } catch {
                throw .unavailable(error.message + "; nothing was changed")
            }
        }
        let (before, pending) = try recordPending(plan)
        let changes = plan.moves.map(DeviceChange.init)
        var outcome = executor.transaction(changes)
        var owned: (nodes: [String], rules: [String], warnings: [String]) = ([], [], [])
        if case .completed = outcome, let owner = plan.owner {
            // The nodes exist only now; a chown that fails undoes the bind, so the owner never
            // finds a device bound but out of reach.
            do throws(StepFailure) {
                owned = try giveNodes(to: owner, plan: plan)
            } catch {
                outcome = executor.rollBack(changes, after: error)
            }
        }
        let addresses = plan.moves.map(\.address)
        switch outcome {
        case .completed:
            let warnings = owned.warnings + (markBound(plan).map { [$0] } ?? [])
            return BindReport(moved: plan.moves, moduleLoaded: plan.loadModule, warnings: warnings, ownedNodes: owned.nodes, rules: owned.rules)
        case .rolledBack(let failure, let restored):
            let saved = restoreRecords(before: before, pending: pending, addresses: addresses, stranded: [])
            let list = restored.sorted().map { address in
                let original = plan.moves.first { $0.address == address }?.from
                return "\(address) (\(original?.driver ?? "no driver"))"
            }
            throw .failed(
                "bind failed: \(failure.message); rolled back: \(list.joined(separator: ", "))"
                    + (saved ? "" : "; warning: \(StateStore.hostPath) still lists them as pending"))
        case .rollbackFailed(let failure, _, let stranded):
            let saved = restoreRecords(before: before, pending: pending, addresses: addresses, stranded: stranded)
            let list = stranded.map { "\($0.address) is left \($0.current.driver.map { "on " + $0 } ?? "unbound") (\($0.failure.message))" }
            throw .rollbackFailed(
                "bind failed: \(failure.message); rollback failed: \(list.joined(separator: "; ")); "
                    + (saved
                        ? "\(StateStore.hostPath) records where each device is and where it came from"
                        : "warning: \(StateStore.hostPath) could not be updated and still lists them as pending, with their original drivers"))
        }
    }

    /// Records every device's original driver and override before the first sysfs write, so a
    /// crash between two writes never loses where a device came from.
    /// - Returns: the state before and as recorded. - Throws: `.failed` (nothing was changed).
    func recordPending(_ plan: BindPlan) throws(VFIOError) -> (before: HostState, pending: HostState) {
        let before = try store.load()
        var state = before
        for move in plan.moves {
            state.upsert(Self.pendingRecord(for: move, existing: before[move.address], owner: plan.owner, domain: plan.request.domain))
        }
        do {
            try store.save(state)
        } catch {
            throw .failed("cannot record the original drivers in \(StateStore.hostPath) (\(error.message)); nothing was changed")
        }
        return (before, state)
    }

    /// After the moves: their records say bound. Returns a warning when the state file could
    /// not be updated (the devices are bound; the records, still "pending", keep the originals).
    func markBound(_ plan: BindPlan) -> String? {
        do {
            try store.update { state in
                for move in plan.moves {
                    guard var record = state[move.address] else { continue }
                    record.status = .bound
                    record.time = Timestamp.now()
                    state.upsert(record)
                }
            }
            return nil
        } catch {
            return "the devices are bound, but \(StateStore.hostPath) could not be updated: \(error.message)"
        }
    }

    /// The record written before the first write. A device vfioctl already moved keeps its
    /// first original (a bind from vfio-pci to a variant driver must still give it back to
    /// the host driver it had), and so does one left by an interrupted or failed operation;
    /// a stale record (the device was moved back behind vfioctl's back) is replaced by what
    /// sysfs shows now.
    static func pendingRecord(for move: DeviceMove, existing: DeviceRecord?, owner: NodeOwner? = nil, domain: String? = nil) -> DeviceRecord {
        var original = move.from
        if let existing {
            switch existing.status {
            case .pending, .rollbackFailed:
                original = existing.original
            case .bound:
                if existing.boundDriver == move.from.driver { original = existing.original }
            }
        }
        return DeviceRecord(
            address: move.address, group: move.group, originalDriver: original.driver, originalOverride: original.override,
            boundDriver: move.to.driver, status: .pending, owner: owner, domain: domain, time: Timestamp.now())
    }

    /// After a rollback: devices that went back get their previous record (or none); devices
    /// that could not are marked with where they are. Returns false when the file could not be written.
    func restoreRecords(before: HostState, pending: HostState, addresses: [PCIAddress], stranded: [TransactionOutcome.StrandedDevice]) -> Bool {
        do {
            try store.update { state in
                for address in addresses {
                    if let previous = before[address] { state.upsert(previous) } else { state.remove(address) }
                }
                for device in stranded {
                    guard var record = pending[device.address] else { continue }
                    record.status = .rollbackFailed
                    record.currentDriver = device.current.driver
                    record.time = Timestamp.now()
                    state.upsert(record)
                }
            }
            return true
        } catch {
            return false
        }
    }

    // MARK: - Owner

    /// chown and chmod of the group nodes and cdevs that exist now, then one runtime udev rule
    /// per device so a rebind gets the same owner. A rule that cannot be written is a warning:
    /// the nodes are already right.
    func giveNodes(to owner: NodeOwner, plan: BindPlan) throws(StepFailure) -> (nodes: [String], rules: [String], warnings: [String]) {
        let addresses = plan.ownedAddresses
        let nodes = VFIONodeReader(root: root).ownedNodes(groups: plan.groups, addresses: addresses)
        try executor.run(OwnershipPlanner.steps(owner, nodes: nodes))
        var rules: [String] = []
        var warnings: [String] = []
        let writer = UdevRuleStore(root: root)
        for address in addresses {
            let rule = UdevRule(address: address, owner: owner, persistent: plan.persistentRules)
            do {
                try writer.write(rule)
                rules.append(rule.path)
            } catch {
                warnings.append("\(address)'s nodes belong to \(owner.description), but the udev rule that keeps them so after a rebind could not be written: \(error.message)")
            }
        }
        if !rules.isEmpty, let warning = writer.reload(with: executor) { warnings.append(warning) }
        return (nodes, rules, warnings)
    }

    /// `bind --owner` on devices that are bound already: only the nodes change hands, and the
    /// records vfioctl has of them say so.
    func ownAlreadyBound(_ plan: BindPlan) throws(VFIOError) -> BindReport {
        guard let owner = plan.owner else { return BindReport(moved: [], moduleLoaded: nil, warnings: []) }
        let owned: (nodes: [String], rules: [String], warnings: [String])
        do throws(StepFailure) {
            owned = try giveNodes(to: owner, plan: plan)
        } catch {
            throw .failed("cannot give the VFIO nodes to \(owner.description): \(error.message); the devices stay bound")
        }
        var warnings = owned.warnings
        let addresses = plan.ownedAddresses
        do {
            let state = try store.update { state in
                for address in addresses {
                    guard var record = state[address] else { continue }
                    record.owner = owner
                    record.time = Timestamp.now()
                    state.upsert(record)
                }
            }
            for address in addresses where state[address] == nil {
                warnings.append("\(address) was not bound by vfioctl, so unbind will not give its nodes back to root")
            }
        } catch {
            warnings.append("the nodes belong to \(owner.description), but \(StateStore.hostPath) could not be updated: \(error.message)")
        }
        return BindReport(moved: [], moduleLoaded: nil, warnings: warnings, ownedNodes: owned.nodes, rules: owned.rules)
    }
}
