import VFIOHost
import VFIOModel

/// Carries out the writes of a `ReleasePlan` once its devices are free (the caller waited and
/// re-checked, and holds `HostLock`): runs the moves as transactions with rollback, reads where
/// each device ended, and keeps the state file in step — a released device's record goes, a
/// cycled device's record stays as it was, a device a failed rollback strands is marked.
public struct ReleaseOperation: Sendable {
    public let root: HostRoot
    public let executor: Executor
    public let store: StateStore

    public init(root: HostRoot, executor: Executor) {
        self.root = root
        self.executor = executor
        self.store = StateStore(root: root)
    }

    /// Runs `units`: all in one transaction when `atomic` (unbind, cycle: all or nothing), each
    /// on its own otherwise (restore). Records of released devices are dropped, and so are those
    /// in `dropRecords` (devices found already back where they came from) and those of VFs that
    /// went away with their PF.
    public func execute(_ units: [ReleaseUnit], kind: ReleaseRequest.Kind, atomic: Bool, dropRecords: [PCIAddress] = []) -> ReleaseReport {
        var report = ReleaseReport()
        let before = (try? store.load()) ?? HostState()
        let batches: [[ReleaseMove]] = atomic ? [units.flatMap(\.moves)] : units.map(\.moves)
        var released: [PCIAddress] = []
        var stranded: [TransactionOutcome.StrandedDevice] = []
        for moves in batches where !moves.isEmpty {
            let changes = moves.map {
                DeviceChange(address: $0.address, group: $0.group, original: $0.from, target: $0.to, steps: $0.steps)
            }
            switch executor.transaction(changes) {
            case .completed:
                released += recordReleased(moves, into: &report)
            case .rolledBack(let failure, let restored):
                recordRolledBack(moves, failure: failure, restored: restored, kind: kind, into: &report)
            case .rollbackFailed(let failure, let restored, let left):
                recordStranded(moves, failure: failure, restored: restored, left: left, kind: kind, into: &report)
                stranded += left
            }
        }
        // The state file: cycle leaves records alone (the original host driver is still the one
        // to go back to); unbind and restore forget what they gave back, and the VFs that went
        // away with their PF (its unbind set sriov_numvfs to 0).
        let releasedSet = Set(released)
        let vanishedVFs = units.flatMap(\.moves).filter { releasedSet.contains($0.address) }.flatMap(\.virtualFunctions)
            .filter { !Sysfs.exists(root.device($0) + "/vendor") }
        let forget = kind == .cycle ? dropRecords : released + dropRecords + vanishedVFs
        updateRecords(forgetting: forget, stranded: stranded, into: &report)
        if kind == .cycle {
            ownAgain(released.compactMap { before[$0] }, into: &report)
        } else {
            giveNodesBack(released.compactMap { before[$0] }, into: &report)
        }
        return report
    }

    /// Released devices that had an owner: their udev rules go, and a group node that is still
    /// there (other members stay on VFIO) goes back to root:root 0600 once no device recorded
    /// in the group has an owner.
    func giveNodesBack(_ released: [DeviceRecord], into report: inout ReleaseReport) {
        let owned = released.filter { $0.owner != nil }
        guard !owned.isEmpty else { return }
        let rules = UdevRuleStore(root: root)
        var removed = 0
        for record in owned {
            do { removed += try rules.remove(record.address).count } catch { report.warnings.append(error.message) }
        }
        // Before anything can make the group's node again: a daemon still holding the removed
        // rule would give the next node to the old owner.
        if removed > 0, let warning = rules.reload(with: executor) { report.warnings.append(warning) }
        let remaining = (try? store.load()) ?? HostState()
        let reader = VFIONodeReader(root: root)
        let nodes = OwnershipPlanner.groupsToReset(released: owned, remaining: remaining).compactMap(reader.groupNode)
        do throws(StepFailure) {
            try executor.run(OwnershipPlanner.resetSteps(nodes: nodes))
        } catch {
            report.warnings.append("the devices were released, but a VFIO node could not be given back to root: \(error.message)")
        }
    }

    /// After a cycle the kernel made the nodes anew, as root's; the owner recorded gets them again.
    func ownAgain(_ cycled: [DeviceRecord], into report: inout ReleaseReport) {
        let reader = VFIONodeReader(root: root)
        for record in cycled {
            guard let owner = record.owner else { continue }
            let nodes = reader.ownedNodes(groups: record.group.map { [$0] } ?? [], addresses: [record.address])
            do throws(StepFailure) {
                try executor.run(OwnershipPlanner.steps(owner, nodes: nodes))
            } catch {
                report.warnings.append("\(record.address) was cycled, but its nodes could not be given to \(owner.description) again: \(error.message)")
            }
        }
    }

    /// A completed transaction: where each device is now. Returns the released addresses.
    func recordReleased(_ moves: [ReleaseMove], into report: inout ReleaseReport) -> [PCIAddress] {
        for move in moves {
            let now = executor.currentDriver(move.address)
            report.results[move.address] = .done(driver: now)
            // The kernel's choice can be a VFIO driver again: a new_id or vfio-pci.ids= entry.
            if move.source == .kernel, DriverName.isVFIO(now) {
                report.warnings.append(
                    "\(move.address): the kernel bound it to \(now ?? "a VFIO driver") again (a new_id or ids= entry matches it); name the driver with --to")
            }
        }
        return moves.map(\.address)
    }

    func recordRolledBack(_ moves: [ReleaseMove], failure: StepFailure, restored: [PCIAddress], kind: ReleaseRequest.Kind, into report: inout ReleaseReport) {
        let list = restored.sorted().map { address in
            "\(address) (\(moves.first { $0.address == address }?.from.driver ?? "no driver"))"
        }
        let message = "\(kind.rawValue) failed: \(failure.message); rolled back: \(list.joined(separator: ", "))"
        for move in moves { report.results[move.address] = .rolledBack(message) }
        report.failures.append(.failed(message))
    }

    func recordStranded(
        _ moves: [ReleaseMove], failure: StepFailure, restored: [PCIAddress], left: [TransactionOutcome.StrandedDevice], kind: ReleaseRequest.Kind,
        into report: inout ReleaseReport
    ) {
        let list = left.map { "\($0.address) is left \($0.current.driver.map { "on " + $0 } ?? "unbound") (\($0.failure.message))" }
        let message =
            "\(kind.rawValue) failed: \(failure.message); rollback failed: \(list.joined(separator: "; ")); \(StateStore.hostPath) records where each device is and where it came from"
        for move in moves {
            if let device = left.first(where: { $0.address == move.address }) {
                report.results[move.address] = .stranded(driver: device.current.driver, message: message)
            } else if restored.contains(move.address) {
                report.results[move.address] = .rolledBack(message)
            }
        }
        report.failures.append(.rollbackFailed(message))
    }

    /// Forgets released devices and marks stranded ones; a failed write is a warning (the
    /// devices have moved either way).
    func updateRecords(forgetting forget: [PCIAddress], stranded: [TransactionOutcome.StrandedDevice], into report: inout ReleaseReport) {
        guard !forget.isEmpty || !stranded.isEmpty else { return }
        do throws(VFIOError) {
            try store.update { state in
                for address in forget { state.remove(address) }
                for device in stranded {
                    guard var record = state[device.address] else { continue }
                    record.status = .rollbackFailed
                    record.currentDriver = device.current.driver
                    record.time = Timestamp.now()
                    state.upsert(record)
                }
            }
        } catch {
            report.warnings.append("the devices were released, but \(StateStore.hostPath) could not be updated: \(error.message)")
        }
    }
}
