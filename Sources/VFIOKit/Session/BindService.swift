import VFIOHost
import VFIOModel
import VFIOWriters

extension HostSession {
    /// Moves devices to a VFIO driver: plans against a snapshot read under the lock, refuses
    /// what would leave a group non-viable or take a device the host uses, records the original
    /// drivers, and binds everything as one transaction with rollback.
    /// - Throws: what stops it before a plan exists: a bad driver name or target (`.usage`),
    ///   no such device or module (`.unavailable`), not root, the lock.
    public func bind(_ request: BindRequest) throws(VFIOError) -> BindOutcome {
        if request.driver != DriverName.auto { try BindPlanner.validate(driver: request.driver) }
        let owner = try resolveOwner(request.owner)
        var outcome = try bindUnderLock(request, owner: owner)
        // The bind is right either way; whether VFIO will then attach the groups is a
        // property of the host, told with the outcome.
        if let plan = outcome.plan {
            outcome.attach = attachVerdicts(plan.groups)
            let reader = VFIONodeReader(root: root)
            for id in plan.groups {
                let members = outcome.inventory.groups[id].map { outcome.inventory.members(of: $0).map(\.address) } ?? plan.moves.map(\.address)
                outcome.groupNodes[id] = reader.groupNodes(id, members: members)
            }
        }
        return outcome
    }

    func bindUnderLock(_ request: BindRequest, owner: NodeOwner?) throws(VFIOError) -> BindOutcome {
        try changingHost("bind") { () throws(VFIOError) -> BindOutcome in
            let clock = ContinuousClock()
            let started = clock.now
            var waited = false
            while true {
                let inventory = try inventory()
                let (resolved, notes) = try resolveDriver(request, inventory: inventory)
                switch try planBind(resolved, inventory: inventory, owner: owner) {
                case .refused(let refusal):
                    // --wait: only host processes stand in the way, and they may let go (a display
                    // manager being stopped). Anything else is refused at once.
                    guard let timeout = request.holderTimeout, !dryRun, let held = refusal.devicesHeldOnlyByProcesses else {
                        return BindOutcome(result: .refused(refusal), inventory: inventory)
                    }
                    let elapsed = clock.now - started
                    if waited && elapsed >= timeout {
                        return BindOutcome(result: .gaveUp(refusal, report: nil, waited: elapsed), inventory: inventory)
                    }
                    let result = try waitForHolders(held, timeout: timeout, since: started, finderOptions: .init(hostNodes: true))
                    if !result.isFree {
                        return BindOutcome(result: .gaveUp(refusal, report: result.report, waited: clock.now - started), inventory: inventory)
                    }
                    // Free now: plan again from a fresh snapshot (the wait may have taken long, and
                    // a holder that came back means waiting again, within the same bound).
                    waited = true
                case .plan(var plan):
                    plan.notes = notes + plan.notes
                    if dryRun { return BindOutcome(result: .planned(plan), inventory: inventory) }
                    do throws(VFIOError) {
                        let report = try BindOperation(root: root, executor: executor()).execute(plan)
                        return BindOutcome(result: .bound(plan, report), inventory: inventory)
                    } catch {
                        return BindOutcome(result: .failed(plan, error), inventory: inventory)
                    }
                }
            }
        }
    }

    /// The pure planner, fed with what it needs from the host: the kernel's facts and who uses
    /// the devices the bind would take.
    func planBind(_ request: BindRequest, inventory: HostInventory, owner: NodeOwner? = nil) throws(VFIOError) -> BindDecision {
        let environment = BindEnvironment.read(root: root)
        let affected = try BindPlanner.affectedDevices(request, inventory: inventory)
        let uses = try InUseDetector(root: root).uses(of: affected) + hostHolderUses(affected)
        let decision = try BindPlanner.plan(request, inventory: inventory, environment: environment, uses: uses)
        guard let owner, case .plan(var plan) = decision else { return decision }
        plan.owner = owner
        // One group node, one owner: refused when a device already in the group has another.
        let conflicts = OwnershipPlanner.conflicts(
            owner: owner, groups: plan.groups, addresses: Set(plan.ownedAddresses), state: try store.load())
        return conflicts.isEmpty ? .plan(plan) : .refused(BindRefusal(reasons: conflicts))
    }

    /// `--driver auto`: the VFIO driver whose `vfio_pci:` alias in modules.alias matches the
    /// named devices best, its module loaded if its driver is not registered yet, and vfio-pci
    /// when there is none or it cannot be loaded. Returns the request with that driver and a
    /// note saying which and why.
    /// - Throws: `.usage` when the devices would get different drivers (bind them separately).
    func resolveDriver(_ request: BindRequest, inventory: HostInventory) throws(VFIOError) -> (BindRequest, [String]) {
        guard request.driver == DriverName.auto else { return (request, []) }
        var named = request
        named.wholeGroup = false
        named.driver = DriverName.vfioPCI
        let devices = try BindPlanner.affectedDevices(named, inventory: inventory)
        let aliases = ModuleAliasReader.read(root: root)
        let choices = devices.map { VFIODriverChoice.choose(for: $0, aliases: aliases) }
        let drivers = Set(choices.map(\.driver))
        guard drivers.count <= 1 else {
            let list = zip(devices, choices).map { "\($0.address) \($1.driver)" }.joined(separator: ", ")
            throw .usage("--driver auto picks different drivers for these devices (\(list)); bind them separately", target: "--driver")
        }
        var resolved = request
        resolved.driver = drivers.first ?? DriverName.vfioPCI
        var notes = choices.first.map { ["--driver auto: \($0.driver): \($0.reason)"] } ?? []
        if resolved.driver != DriverName.vfioPCI && !Sysfs.isDirectory(root.path(SysfsPaths.driverDirectory(resolved.driver))) && !dryRun {
            do {
                try kernel.modules.load(resolved.driver)
            } catch {
                notes.append("--driver auto: \(resolved.driver) cannot be loaded (\(error.message)); using vfio-pci")
                resolved.driver = DriverName.vfioPCI
            }
        }
        return (resolved, notes)
    }

    /// `--owner` looked up in the passwd and group files under the root prefix.
    /// - Throws: `.usage` for an unknown user or group, or root.
    public func resolveOwner(_ spec: OwnerSpec?) throws(VFIOError) -> NodeOwner? {
        guard let spec else { return nil }
        return try UserDatabase.read(root: root).resolve(spec)
    }

    /// Host processes holding a device the bind would take, through its host nodes: one pass
    /// over /proc for all of them (VFIO-bound ones are judged by their `enable` count instead).
    /// - Throws: `.unavailable` when /proc cannot be read: the guard cannot tell, so it does not guess.
    func hostHolderUses(_ devices: [PCIDevice]) throws(VFIOError) -> [DeviceUse] {
        let onHost = devices.filter { !$0.isVFIOBound }.map(\.address)
        guard !onHost.isEmpty else { return [] }
        return InUseClassifier.holderUses(try holderFinder(options: .init(hostNodes: true)).find(onHost))
    }
}
