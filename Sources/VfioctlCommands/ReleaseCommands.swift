#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import ArgumentParser
import VFIOKit

/// Options of the commands that wait for holders before writing.
struct ReleaseWaitOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Wait at most DURATION for holders to let go (default 30s). DURATION is \(DurationText.forms).", valueName: "DURATION"))
    var timeout: String = "30s"
}

struct UnbindCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbind",
        abstract: "Give VFIO-bound devices back to the host once no process holds them",
        discussion: """
            Waits (bounded by --timeout) until no process holds the devices or their IOMMU group, re-checks, then \
            clears driver_override, unbinds the VFIO driver and binds the driver recorded at bind time (or --to \
            DRIVER; --to none leaves it unbound; without a record the kernel chooses through drivers_probe), \
            verifies the driver link and forgets the record. A held device is never unbound: the kernel's unbind \
            would sleep until the holder lets go, and skip the device reset.

            Group rule: a device that goes back to a host driver while another member of its IOMMU group is held \
            would be refused by the kernel (5.19+) or crash it (older), so the wait covers every VFIO-bound member \
            of the group. --group releases them all together. Releasing one member leaves the others unusable for \
            VFIO until the group is whole again; vfioctl warns.

            A device not on a VFIO driver is left alone (exit 0). A PF whose VFs are held is refused (exit 2): its \
            unbind would remove them and block.

            Exit status: 0 released or nothing to do, 1 failed and rolled back, 2 refused, 3 timed out (or held \
            with --no-wait), nothing changed, 4 failed without full rollback.

            Examples:
              vfioctl unbind 01:00.0
              vfioctl unbind --group group:12 --timeout 2m
              vfioctl unbind 01:00.0 --to none --no-wait
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @OptionGroup var wait: ReleaseWaitOptions

    @Flag(name: .long, help: "Do not wait: if anything holds the devices, exit 3 at once naming the holders.")
    var noWait = false

    @Option(name: .long, help: ArgumentHelp("Bind this host driver instead of the recorded one; 'none' leaves the devices unbound.", valueName: "DRIVER"))
    var to: String?

    @Flag(name: .long, help: "Release every VFIO-bound member of each device's IOMMU group, once the whole group is free.")
    var group = false

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws {
        guard !targets.isEmpty else { throw VFIOError.usage("unbind needs at least one TARGET: \(Target.acceptedForms)") }
        let parsed = targets
        let destination = try ReleasePlanner.destination(to)
        let timeout = try DurationText.parse(wait.timeout, name: "--timeout")
        let request = ReleaseRequest(kind: .unbind, targets: parsed, destination: destination, wholeGroup: group)
        try ReleaseRunner(context: context, request: request, timeout: noWait ? .zero : timeout, noWait: noWait, mutation: mutation).run()
    }
}

struct RestoreCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Return every device vfioctl moved to the driver it had before",
        discussion: """
            Reads /run/vfioctl/state.json and gives each recorded device back to its original driver and \
            driver_override, with the same waiting and group rules as unbind. Groups are restored independently: \
            one whose holders stay past --timeout is reported and the others are still restored. Records of \
            devices already back on their original driver, or gone from the bus, are dropped.

            Exit status: 0 when every device is restored (or was already), else the worst per-device result: \
            4 stranded after a failed rollback, 1 failed and rolled back, 2 refused, 3 timed out.

            Examples:
              vfioctl restore --dry-run
              vfioctl restore --timeout 2m --json
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: ReleaseWaitOptions
    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws {
        let timeout = try DurationText.parse(wait.timeout, name: "--timeout")
        let request = ReleaseRequest(kind: .restore, targets: [])
        try ReleaseRunner(context: context, request: request, timeout: timeout, noWait: false, mutation: mutation).run()
    }
}

struct CycleCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycle",
        abstract: "Unbind and re-bind VFIO devices to the same VFIO driver once they are free",
        discussion: """
            Makes the kernel re-read device state that vfio-pci caches across opens (for example a VF's MSI-X \
            vector count after sriov_vf_msix_count changed). Waits like unbind; then unbinds the VFIO driver and \
            probes it again with driver_override naming it, and verifies. The state file's record (the original \
            host driver) is kept as it is. A PF with VFs enabled is refused: its unbind would remove them.

            Exit status: 0 cycled, 1 failed and rolled back, 2 refused (not VFIO-bound, PF with VFs), 3 timed \
            out, 4 failed without full rollback.

            Examples:
              vfioctl cycle 04:00.1
              vfioctl cycle 04:00.1 --timeout 2m --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @OptionGroup var wait: ReleaseWaitOptions

    @Flag(name: .long, help: "Do not wait: if anything holds the devices, exit 3 at once naming the holders.")
    var noWait = false

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws {
        guard !targets.isEmpty else { throw VFIOError.usage("cycle needs at least one TARGET: \(Target.acceptedForms)") }
        let parsed = targets
        let timeout = try DurationText.parse(wait.timeout, name: "--timeout")
        let request = ReleaseRequest(kind: .cycle, targets: parsed)
        try ReleaseRunner(context: context, request: request, timeout: noWait ? .zero : timeout, noWait: noWait, mutation: mutation).run()
    }
}

// MARK: - The shared flow

/// Plan, wait, re-check, write, report: the flow `unbind`, `restore` and `cycle` share. The
/// lock is held throughout, the wait included, so no other vfioctl changes the devices while
/// this one waits for them.
struct ReleaseRunner {
    let context: CommandContext
    let request: ReleaseRequest
    let timeout: Duration
    let noWait: Bool
    let mutation: MutationOptions
    /// The caller (e.g. `apply`) already holds the host lock for its whole run.
    var lockHeld = false

    var console: Console { context.console }
    var textOutput: Bool { !context.options.quiet && !context.options.json }

    func run() throws {
        if !mutation.dryRun {
            try Privilege.requireRoot(for: request.kind.rawValue, root: context.root, effectiveUID: context.services.effectiveUID)
        }
        let lock = lockHeld ? nil : try mutation.acquireLock(context)
        defer { lock?.release() }

        var plan = try makePlan()
        if textOutput {
            for warning in plan.warnings { console.error("vfioctl: warning: " + warning) }
        }
        if mutation.dryRun {
            let holders = try? HolderFinder(root: context.root).find(plan.waitFor + plan.virtualFunctions)
            if context.options.json {
                console.emitJSON(ReleaseDocument(plan: plan, root: context.root, dryRun: true, outcome: ReleaseOutcome(), now: Self.now()))
            } else if !context.options.quiet {
                console.write(ReleaseRendering.dryRun(plan, root: context.root, holders: holders, timeout: timeout, noWait: noWait))
            }
            return
        }
        var outcome = ReleaseOutcome()
        let staleRecords = plan.kept.filter { $0.reason == .unchanged || $0.reason == .gone }.map(\.address)
        if plan.isNoOp {
            if !staleRecords.isEmpty { try? StateStore(root: context.root).remove(staleRecords) }
            finish(plan, outcome)
            return
        }

        // SR-IOV: a PF's VFs must not be held (refused, not waited for: the user has to stop them).
        var refusedUnits = try refuseHeldVFs(plan)

        // Wait, then look again right before the first write: a holder can appear meanwhile.
        let clock = ContinuousClock()
        let started = clock.now
        var ready: [ReleaseUnit] = []
        var shown = ""
        let console = self.console
        while true {
            let remaining = max(.zero, timeout - (clock.now - started))
            let candidates = plan.units.filter { unit in !refusedUnits.contains { $0.moves.first?.address == unit.moves.first?.address } }
            let waitFor = ReleasePlan.unique(candidates.flatMap(\.waitFor))
            let result = try HolderWaiter(root: context.root).waitUntilFree(
                devices: waitFor, timeout: remaining,
                progress: textOutput
                    ? { progress in
                        guard !progress.report.isFree else { return }
                        // The whole wait, not this round of it.
                        let line = HolderRendering.progressLine(
                            WaitProgress(elapsed: clock.now - started, timeout: timeout, report: progress.report))
                        if line != shown {
                            shown = line
                            console.status(line)
                        }
                    } : nil)
            outcome.waited = clock.now - started
            outcome.scans += result.scans
            console.clearStatus()
            if !result.isFree {
                outcome.lastReport = result.report
                let free = candidates.filter { unit in unit.waitFor.allSatisfy { a in result.report.targets.first { $0.target.address == a }?.state.isFree ?? true } }
                guard request.kind == .restore, !free.isEmpty else {
                    try timedOut(plan, candidates: candidates, report: result.report, outcome: outcome)
                    return
                }
                // restore: the groups that are free go now; the others are reported.
                outcome.timedOut = candidates.filter { u in !free.contains { $0.moves.first?.address == u.moves.first?.address } }
                let recheck = try HolderFinder(root: context.root).find(ReleasePlan.unique(free.flatMap(\.waitFor)))
                ready = free.filter { unit in unit.waitFor.allSatisfy { a in recheck.targets.first { $0.target.address == a }?.state.isFree ?? true } }
                outcome.timedOut += free.filter { u in !ready.contains { $0.moves.first?.address == u.moves.first?.address } }
                break
            }
            if result.scans <= 1 {
                // Free at the first look, which was just now.
                ready = candidates
                break
            }
            // It waited: the world may have moved on. Plan again from a fresh snapshot, check the
            // VFs again, and look once more; a holder that came back means waiting again.
            plan = try makePlan()
            if plan.isNoOp { break }
            refusedUnits = try refuseHeldVFs(plan)
            let again = plan.units.filter { unit in !refusedUnits.contains { $0.moves.first?.address == unit.moves.first?.address } }
            let recheck = try HolderFinder(root: context.root).find(ReleasePlan.unique(again.flatMap(\.waitFor)))
            if recheck.isFree {
                ready = again
                break
            }
            if noWait || clock.now - started >= timeout {
                outcome.lastReport = recheck
                try timedOut(plan, candidates: again, report: recheck, outcome: outcome)
                return
            }
        }
        outcome.refused = refusedUnits

        let verbose = context.options.verbose && textOutput
        let root = context.root
        var onEvent: (@Sendable (ExecutorEvent) -> Void)? = nil
        if verbose {
            onEvent = { event in BindRendering.verbose(event, root: root, console: console) }
        }
        let executor = Executor(root: root, kernel: context.services.kernel(root), options: context.services.executorOptions, onEvent: onEvent)
        let dropped = plan.kept.filter { $0.reason == .unchanged || $0.reason == .gone }.map(\.address)
        outcome.report = ReleaseOperation(root: root, executor: executor).execute(
            ready, kind: request.kind, atomic: request.kind != .restore, dropRecords: dropped)
        outcome.executed = ready
        for warning in outcome.report?.warnings ?? [] { console.error("vfioctl: warning: " + warning) }
        outcome.plan = plan
        try finishAfterExecution(plan, outcome)
    }

    // MARK: Steps of the flow

    func makePlan() throws -> ReleasePlan {
        let inventory = try InventoryReader(root: context.root, database: nil, fields: .forChanges).read()
        let state = try StateStore(root: context.root).load()
        let drivers = Set(Sysfs.list(context.root.pciDrivers) ?? [])
        switch try ReleasePlanner.plan(request, inventory: inventory, state: state, loadedDrivers: drivers) {
        case .plan(let plan):
            return plan
        case .refused(let refusal):
            for reason in refusal.reasons { console.error("vfioctl: refused: " + reason.line) }
            console.error("vfioctl: nothing was changed")
            if context.options.json { console.emitJSON(ReleaseRefusalDocument(refusal)) }
            throw ExitStatus(code: VFIOError.refused("").exitCode)
        }
    }

    /// Units whose PF has held VFs. unbind and cycle refuse outright (exit 2); restore reports
    /// those units and goes on with the others.
    func refuseHeldVFs(_ plan: ReleasePlan) throws -> [ReleaseUnit] {
        let vfs = plan.virtualFunctions
        guard !vfs.isEmpty else { return [] }
        let report = try HolderFinder(root: context.root).find(vfs)
        guard !report.isFree else { return [] }
        var reasons: [ReleaseRefusal.Reason] = []
        var refused: [ReleaseUnit] = []
        for unit in plan.units {
            for move in unit.moves where !move.virtualFunctions.isEmpty {
                let held = report.targets.filter { move.virtualFunctions.contains($0.target.address) && !$0.state.isFree }
                guard !held.isEmpty else { continue }
                let partial = HolderReport(targets: held, holders: report.holders, likelyHolders: report.likelyHolders, stats: report.stats)
                reasons.append(
                    .init(
                        kind: .virtualFunctions, address: move.address, group: move.group, driver: move.from.driver,
                        message: "\(move.address) is an SR-IOV PF whose VFs are in use (\(HolderRendering.summary(partial))): unbinding it would remove them and block until they are released",
                        remedy: "stop the VFs' users first (vfioctl holders \(held.map(\.target.address.description).joined(separator: " ")))"))
                if !refused.contains(where: { $0.moves.first?.address == unit.moves.first?.address }) { refused.append(unit) }
            }
        }
        guard !reasons.isEmpty else { return [] }
        if request.kind == .restore {
            for reason in reasons { console.error("vfioctl: refused: " + reason.line) }
            return refused
        }
        let refusal = ReleaseRefusal(reasons: reasons)
        for reason in refusal.reasons { console.error("vfioctl: refused: " + reason.line) }
        console.error("vfioctl: nothing was changed")
        if context.options.json { console.emitJSON(ReleaseRefusalDocument(refusal)) }
        throw ExitStatus(code: VFIOError.refused("").exitCode)
    }

    func timedOut(_ plan: ReleasePlan, candidates: [ReleaseUnit], report: HolderReport, outcome: ReleaseOutcome) throws {
        var outcome = outcome
        outcome.timedOut = candidates
        outcome.lastReport = report
        outcome.plan = plan
        let moving = Set(plan.moves.map(\.address))
        let peers = report.targets.filter { !$0.state.isFree && !moving.contains($0.target.address) }.map(\.target.address)
        var message = noWait
            ? "in use (--no-wait): " + HolderRendering.summary(report)
            : "timed out after " + HolderRendering.preciseSeconds(outcome.waited) + " waiting for holders: " + HolderRendering.summary(report)
        if !peers.isEmpty {
            message += "; " + peers.map(\.description).joined(separator: ", ")
                + " shares an IOMMU group with the devices to release, and a host driver cannot take them while it is in use (--group releases the whole group once it is free)"
        }
        message += "; nothing was changed"
        if context.options.json {
            console.emitJSON(ReleaseDocument(plan: plan, root: context.root, dryRun: false, outcome: outcome, now: Self.now()))
        }
        console.error("vfioctl: " + message)
        throw ExitStatus(code: VFIOError.timedOut(message).exitCode)
    }

    /// Nothing to do.
    func finish(_ plan: ReleasePlan, _ outcome: ReleaseOutcome) {
        if context.options.json {
            console.emitJSON(ReleaseDocument(plan: plan, root: context.root, dryRun: false, outcome: outcome, now: Self.now()))
        } else if !context.options.quiet {
            console.write(ReleaseRendering.nothingToDo(plan))
        }
    }

    func finishAfterExecution(_ plan: ReleasePlan, _ outcome: ReleaseOutcome) throws {
        if context.options.json {
            console.emitJSON(ReleaseDocument(plan: plan, root: context.root, dryRun: false, outcome: outcome, now: Self.now()))
        } else if !context.options.quiet {
            console.write(ReleaseRendering.done(plan, outcome))
        }
        guard let code = outcome.exitCode else { return }
        let messages = outcome.report?.failures.map(\.message) ?? []
        if code == 1 || code == 4 {
            // Atomic commands report the failure as an error line; its JSON already went out.
            for message in messages { console.error("vfioctl: " + message) }
        } else if code == 3, let report = outcome.lastReport {
            console.error("vfioctl: timed out after " + HolderRendering.preciseSeconds(outcome.waited) + " waiting for holders: " + HolderRendering.summary(report))
        }
        throw ExitStatus(code: code)
    }

    static func now() -> Int64 { Int64(time(nil)) }
}

/// What happened, for the report.
struct ReleaseOutcome {
    var plan: ReleasePlan?
    var waited: Duration = .zero
    var scans = 0
    var lastReport: HolderReport?
    var timedOut: [ReleaseUnit] = []
    var refused: [ReleaseUnit] = []
    var executed: [ReleaseUnit] = []
    var report: ReleaseOperation.Report?

    func result(of address: PCIAddress) -> ReleaseOperation.Result? { report?.results[address] }
    func isTimedOut(_ address: PCIAddress) -> Bool { timedOut.contains { $0.moves.contains { $0.address == address } } }
    func isRefused(_ address: PCIAddress) -> Bool { refused.contains { $0.moves.contains { $0.address == address } } }

    /// nil: success.
    var exitCode: Int32? {
        if let error = report?.error { return error.exitCode }
        if !refused.isEmpty { return 2 }
        if !timedOut.isEmpty { return 3 }
        return nil
    }
}
