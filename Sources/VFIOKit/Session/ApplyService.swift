import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Makes the host match a desired state: binds through `bind` (one transaction per batch,
    /// each planned against the host as it is then) and gives devices back through `release`
    /// (waiting for holders, the group rule, the SR-IOV guard), all under one hold of the lock.
    /// With `noWait`, a held device is not waited for: its release looks once and ends as
    /// `timeout` with its holders (the watcher reports it as waiting and tries again later).
    /// Afterwards the CDI spec file the state names (`cdi =`) is brought in step.
    /// - Throws: what stops the whole run: not root, the lock, an unreadable inventory, a bind
    ///   target the planner cannot resolve.
    ///
    /// With `vfs =` entries it runs in three rounds, each planned against the host as the one
    /// before left it: the PFs' own drivers (vfio-pci refuses a PF that has VFs, and a PF
    /// driver's unbind removes them), then the VF counts and their binds (`sriov`), then every
    /// other entry, so an entry naming VFs finds them.
    public func apply(_ desired: DesiredState, noWait: Bool = false) throws(VFIOError) -> ApplyOutcome {
        try changingHost("apply") { () throws(VFIOError) -> ApplyOutcome in
            var outcome = try applyRounds(desired, noWait: noWait)
            if let path = desired.cdi, !dryRun { outcome.cdi = updateCDISpec(at: path) }
            outcome.claim = updateClaimFiles(desired)
            return outcome
        }
    }

    /// The rounds of `apply` (the lock is already held).
    func applyRounds(_ desired: DesiredState, noWait: Bool) throws(VFIOError) -> ApplyOutcome {
        guard !desired.sriov.isEmpty else { return try applyEntries(desired, noWait: noWait) }
        let pfs = Set(desired.sriov.map(\.pf))
        func isPF(_ entry: DesiredState.Entry) -> Bool {
            if case .address(let address) = entry.selector { return pfs.contains(address) }
            return false
        }
        var first = desired
        first.entries = desired.entries.filter(isPF)
        var rest = desired
        rest.entries = desired.entries.filter { !isPF($0) }
        var outcome = try applyEntries(first, noWait: noWait)
        // VFs with entries of their own are left to those entries, so two runs agree.
        var own = Set(rest.resolve(against: try inventory()).assignments.map(\.address))
        for entry in rest.entries { if case .address(let address) = entry.selector { own.insert(address) } }
        for entry in desired.sriov {
            // The watcher never blocks on a held VF: without a wait it is refused and tried again later.
            let (item, detail) = applySRIOV(entry, defaultTimeout: noWait ? nil : desired.timeout, exclude: own, noWait: noWait)
            outcome.entries.append(item)
            outcome.steps.append(detail)
        }
        let later = try applyEntries(rest, noWait: noWait)
        outcome.entries += later.entries
        outcome.unmatched += later.unmatched
        outcome.steps += later.steps
        return outcome
    }

    /// Rewrites the CDI spec at `path` (under the root prefix) for the host as it is now.
    func updateCDISpec(at path: String) -> CDIUpdate {
        do throws(VFIOError) {
            let inventory = try inventory()
            let spec = CDISpec.build(inventory: inventory, nodes: .read(root: root, inventory: inventory))
            let changed = try spec.write(to: root.path(path))
            return CDIUpdate(path: path, devices: spec.devices.map(\.name), changed: changed)
        } catch {
            return CDIUpdate(path: path, devices: [], changed: false, error: error)
        }
    }

    /// One PF's `vfs =` through `sriov` (the lock is already held).
    func applySRIOV(
        _ entry: DesiredState.SRIOVEntry, defaultTimeout: Duration?, exclude: Set<PCIAddress>, noWait: Bool = false
    ) -> (ApplyOutcome.Entry, ApplyOutcome.Detail) {
        let to = "vfs = \(entry.numVFs)" + (entry.vfDriver.map { " on " + $0 } ?? "")
        let request = SRIOVRequest(
            pf: entry.pf, numVFs: entry.numVFs, vfDriver: entry.vfDriver, wait: noWait ? nil : entry.timeout ?? defaultTimeout, exclude: exclude)
        do {
            let outcome = try sriov(request)
            let status: ApplyOutcome.Status
            switch outcome.result {
            case .done: status = outcome.changed ? .changed : .unchanged
            case .planned:
                let binds = SRIOVOutcome.pendingBinds(outcome.bind)
                status = outcome.plan.steps.isEmpty && !binds ? .unchanged : .planned
            case .refused: status = .refused
            case .timedOut: status = .timeout
            case .failed: status = .failed
            }
            let item = ApplyOutcome.Entry(
                address: entry.pf, from: "vfs = \(outcome.plan.currentNumVFs)", to: to, source: entry.source, status: status, detail: .sriov(outcome))
            return (item, .sriov(outcome))
        } catch {
            let status = Self.status(error.exitStatus, dryRun: false)
            return (ApplyOutcome.Entry(address: entry.pf, from: nil, to: to, source: entry.source, status: status, detail: .sriovError(error)), .sriovError(error))
        }
    }

    /// The file's device entries: bind batches, then releases.
    func applyEntries(_ desired: DesiredState, noWait: Bool = false) throws(VFIOError) -> ApplyOutcome {
        let inventory = try inventory()
        let plan = ApplyPlanner.plan(desired.resolve(against: inventory), inventory: inventory)
        var outcome = ApplyOutcome(dryRun: dryRun, entries: [], unmatched: plan.unmatched)
        var details: [PCIAddress: (ApplyOutcome.Status, ApplyOutcome.Detail)] = [:]
        for item in plan.items {
            switch item.disposition {
            case .unchanged:
                if let detail = try ownIfNeeded(item) {
                    outcome.steps.append(detail.1)
                    details[item.address] = detail
                } else {
                    details[item.address] = (.unchanged, .none)
                }
            case .refused(let why): details[item.address] = (.refused, .notPossible(why))
            case .bind, .release: break
            }
        }
        for batch in plan.bindBatches {
            let result = try bind(batch.request)
            let detail = ApplyOutcome.Detail.bind(result, driver: batch.request.driver)
            outcome.steps.append(detail)
            for address in batch.addresses { details[address] = (Self.status(of: result), detail) }
        }
        for release in plan.releases {
            let (status, detail) = applyRelease(release, defaultTimeout: desired.timeout ?? .seconds(30), noWait: noWait)
            outcome.steps.append(detail)
            details[release.address] = (status, detail)
        }
        outcome.entries = plan.items.compactMap { item in
            details[item.address].map { status, detail in
                ApplyOutcome.Entry(
                    address: item.address, from: item.currentDriver, to: item.desired.description, source: item.source, status: status,
                    detail: detail)
            }
        }
        return outcome
    }

    /// A device already on its VFIO driver whose entry has `owner =`: nothing to do when its
    /// group node and persistent udev rule are already the owner's; otherwise `bind --owner`
    /// on it (only the nodes change hands).
    func ownIfNeeded(_ item: ApplyPlan.Item) throws(VFIOError) -> (ApplyOutcome.Status, ApplyOutcome.Detail)? {
        guard let spec = item.owner, case .named(let driver) = item.desired else { return nil }
        if let owner = try? resolveOwner(spec), isOwned(item.address, group: item.group, by: owner) { return nil }
        var request = BindRequest(targets: [.address(item.address)], driver: driver, owner: spec)
        request.persistentRules = true
        let result = try bind(request)
        return (Self.status(of: result), .bind(result, driver: driver))
    }

    /// The group node is the owner's, with the owner's mode, and the persistent rule says so.
    func isOwned(_ address: PCIAddress, group: Int?, by owner: NodeOwner) -> Bool {
        let rule = UdevRule(address: address, owner: owner, persistent: true)
        guard Sysfs.read(root.path(rule.path)).map({ $0 + "\n" }) == rule.text else { return false }
        guard let group, let node = VFIONodeReader(root: root).groupNode(group) else { return true }
        guard let status = VFIONodeReader(root: root).status(node) else { return false }
        return status.uid == owner.uid && status.gid == owner.gid && status.mode == owner.mode
    }

    /// One device back to the host, as `unbind` would (the lock is already held).
    func applyRelease(_ release: ApplyPlan.Release, defaultTimeout: Duration, noWait: Bool = false) -> (ApplyOutcome.Status, ApplyOutcome.Detail) {
        let destination: ReleaseDestination
        switch release.to {
        case nil: destination = .recorded
        case "none"?: destination = .none
        case let driver?: destination = .driver(driver)
        }
        let request = ReleaseRequest(kind: .unbind, targets: [.address(release.address)], destination: destination, wholeGroup: release.wholeGroup)
        do {
            let result = try self.release(request, wait: ReleaseWait(timeout: release.timeout ?? defaultTimeout, noWait: noWait))
            return (Self.status(result.exitStatus, dryRun: dryRun), .release(result, to: release.to))
        } catch {
            return (Self.status(error.exitStatus, dryRun: dryRun), .releaseError(error, to: release.to))
        }
    }

    static func status(of bind: BindOutcome) -> ApplyOutcome.Status {
        switch bind.result {
        case .refused: .refused
        case .gaveUp: .timeout
        case .planned: .planned
        case .bound: .changed
        case .failed: .failed
        }
    }

    static func status(_ exit: ExitStatus, dryRun: Bool) -> ApplyOutcome.Status {
        switch exit {
        case .success: dryRun ? .planned : .changed
        case .refused: .refused
        case .timedOut: .timeout
        default: .failed
        }
    }
}
