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

    /// What happened to each device.
    public struct Report: Sendable, Equatable {
        public var moved: [DeviceMove]
        public var moduleLoaded: String?
        /// A problem that did not undo the bind (e.g. the final state-file update failed).
        public var warnings: [String]
    }

    /// - Returns: the report when every move was made and verified (or there was nothing to do).
    /// - Throws: `.unavailable` when the driver cannot be loaded (nothing changed);
    ///   `.failed` when the state file cannot be written (nothing changed) or a step failed and
    ///   everything was rolled back; `.rollbackFailed` when the rollback failed too.
    public func execute(_ plan: BindPlan) throws(VFIOError) -> Report {
        guard !plan.isNoOp else { return Report(moved: [], moduleLoaded: nil, warnings: []) }
        if let module = plan.loadModule {
            do {
                try executor.run(.loadModule(module))
            } catch {
                throw .unavailable(error.message + "; nothing was changed")
            }
        }

        // Record first, so a crash between two writes never loses where a device came from.
        let before = try store.load()
        var state = before
        for move in plan.moves {
            state.upsert(Self.pendingRecord(for: move, existing: before[move.address]))
        }
        do {
            try store.save(state)
        } catch {
            throw .failed("cannot record the original drivers in \(StateStore.hostPath) (\(error.message)); nothing was changed")
        }

        let changes = plan.moves.map(DeviceChange.init)
        switch executor.transaction(changes) {
        case .completed:
            var warnings: [String] = []
            do {
                try store.update { state in
                    for move in plan.moves {
                        guard var record = state[move.address] else { continue }
                        record.status = .bound
                        record.time = Timestamp.now()
                        state.upsert(record)
                    }
                }
            } catch {
                // The devices are bound; the records (still "pending") keep the originals.
                warnings.append("the devices are bound, but \(StateStore.hostPath) could not be updated: \(error.message)")
            }
            return Report(moved: plan.moves, moduleLoaded: plan.loadModule, warnings: warnings)

        case .rolledBack(let failure, let restored):
            let saved = restoreRecords(before: before, pending: state, addresses: plan.moves.map(\.address), stranded: [])
            let list = restored.sorted().map { address in
                let original = plan.moves.first { $0.address == address }?.from
                return "\(address) (\(original?.driver ?? "no driver"))"
            }
            throw .failed(
                "bind failed: \(failure.message); rolled back: \(list.joined(separator: ", "))"
                    + (saved ? "" : "; warning: \(StateStore.hostPath) still lists them as pending"))

        case .rollbackFailed(let failure, _, let stranded):
            _ = restoreRecords(before: before, pending: state, addresses: plan.moves.map(\.address), stranded: stranded)
            let list = stranded.map { "\($0.address) is left \($0.current.driver.map { "on " + $0 } ?? "unbound") (\($0.failure.message))" }
            throw .rollbackFailed(
                "bind failed: \(failure.message); rollback failed: \(list.joined(separator: "; ")); \(StateStore.hostPath) records where each device is and where it came from")
        }
    }

    /// The record written before the first write. A device vfioctl already moved keeps its
    /// first original (a bind from vfio-pci to a variant driver must still give it back to
    /// the host driver it had), and so does one left by an interrupted or failed operation;
    /// a stale record (the device was moved back behind vfioctl's back) is replaced by what
    /// sysfs shows now.
    static func pendingRecord(for move: DeviceMove, existing: DeviceRecord?) -> DeviceRecord {
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
            boundDriver: move.to.driver, status: .pending)
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
}
