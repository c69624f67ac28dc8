import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

// MARK: - Text

/// Text for `unbind`, `restore` and `cycle`.
package enum ReleaseRendering {
    package static func dryRun(_ plan: ReleasePlan, root: HostRoot, holders: HolderReport?, timeout: Duration, noWait: Bool) -> String {
        let name = plan.request.kind.rawValue
        var out = "# vfioctl \(name) --dry-run: nothing was changed. The writes \(name) would make, in order:\n"
        if plan.isNoOp {
            return out + "# nothing to do: " + nothingToDo(plan).split(separator: "\n").joined(separator: "; ") + "\n"
        }
        let waitFor = plan.waitFor.map(\.description).joined(separator: ", ")
        let limit = noWait ? "without waiting (--no-wait)" : "up to " + HolderRendering.preciseSeconds(timeout)
        out += "# (first: take \(HostFiles.lock); wait \(limit) until no process holds \(waitFor); look again)\n"
        if let holders, !holders.isFree {
            out += "# now: " + holders.summary + "\n"
        }
        for step in plan.steps {
            out += step.shellLine(root: root) + "\n"
        }
        for move in plan.moves where move.source == .kernel {
            out += "# \(move.address): no record of its original driver: the kernel picks one\n"
        }
        if plan.request.kind != .cycle {
            out += "# (then: forget the devices in \(HostFiles.state))\n"
        }
        return out
    }

    /// A whole restore's last part: the PFs whose VF count and autoprobe it puts back.
    package static func sriovDryRun(_ results: [SRIOVRestoreResult], root: HostRoot) -> String {
        guard !results.isEmpty else { return "" }
        var out = "# (last: the SR-IOV PFs vfioctl changed, back as they were, once their VFs are released)\n"
        for pf in results {
            if let error = pf.error {
                out += "# \(pf.pf): would be refused: \(error.message)\n"
            } else if pf.steps.isEmpty {
                out += "# \(pf.pf): already as it was (\(pf.numVFs) VFs); its record goes\n"
            } else {
                for step in pf.steps { out += step.shellLine(root: root) + "\n" }
            }
        }
        return out
    }

    package static func nothingToDo(_ plan: ReleasePlan) -> String {
        if plan.request.kind == .restore && plan.kept.isEmpty {
            if let domain = plan.request.domain {
                return "nothing to restore: \(HostFiles.state) records no device bound for domain \(UntrustedText.printable(domain))\n"
            }
            return "nothing to restore: \(HostFiles.state) records no device\n"
        }
        var out = ""
        for kept in plan.kept {
            out += kept.message + "\n"
        }
        return out.isEmpty ? "nothing to do\n" : out
    }

    package static func done(_ run: ReleaseRun) -> String {
        let plan = run.plan
        var out = ""
        if run.scans > 1, run.waited > .zero {
            out += "waited " + HolderRendering.preciseSeconds(run.waited) + " for the devices to be free\n"
        }
        for move in plan.moves { out += line(for: move, in: run) }
        for kept in plan.kept {
            out += kept.message + "\n"
        }
        return out
    }

    package static func line(for move: ReleaseMove, in run: ReleaseRun) -> String {
        let was = move.from.driver ?? "unbound"
        if run.isRefused(move.address) { return "\(move.address): refused (its VFs are in use); left on \(was)\n" }
        if run.isTimedOut(move.address) { return "\(move.address): timed out waiting for holders; left on \(was)\n" }
        switch run.result(of: move.address) {
        case .done(let driver):
            let kind = run.plan.request.kind
            if kind == .cycle { return "cycled \(move.address) on \(driver ?? was)\n" }
            let verb = kind == .restore ? "restored" : "released"
            if let driver {
                return "\(verb) \(move.address) to \(driver)" + (move.source == .kernel ? " (the kernel's choice; was \(was))\n" : " (was \(was))\n")
            }
            return "\(verb) \(move.address): unbound" + (move.source == .kernel ? " (the kernel bound no driver; was \(was))\n" : " (was \(was))\n")
        case .rolledBack:
            return "\(move.address): failed; back on \(was)\n"
        case .stranded(let driver, _):
            return "\(move.address): failed; left \(driver.map { "on " + $0 } ?? "unbound")\n"
        case nil:
            return "\(move.address): not changed\n"
        }
    }

    /// Why a release that ran did not (fully) succeed, as the lines standard error gets
    /// (without the `vfioctl: ` prefix). `apply` reports the last one per device.
    package static func errorLines(_ outcome: ReleaseOutcome) -> [String] {
        switch outcome {
        case .refused(let refusal):
            return refusal.reasons.map { "refused: " + $0.line }
        case .planned:
            return []
        case .finished(let run):
            var lines = run.refusals.map { "refused: " + $0.line }
            if run.gaveUp { return lines + [gaveUpMessage(run)] }
            lines += (run.plan.warnings + (run.report?.warnings ?? [])).map { "warning: " + $0 }
            return lines + closingLines(run)
        }
    }

    /// After the writes ran: each failed transaction's message, or for groups left held
    /// (restore) who still holds them.
    package static func closingLines(_ run: ReleaseRun) -> [String] {
        switch run.exitStatus {
        case .failed, .rollbackFailed:
            return run.report?.failures.map(\.message) ?? []
        case .timedOut:
            guard let report = run.lastReport else { return [] }
            return ["timed out after " + HolderRendering.preciseSeconds(run.waited) + " waiting for holders: " + report.summary]
        default:
            return []
        }
    }

    /// Holders stayed: nothing was written.
    package static func gaveUpMessage(_ run: ReleaseRun) -> String {
        let summary = run.lastReport.map(\.summary) ?? ""
        var message =
            run.wait.noWait
            ? "in use (--no-wait): " + summary
            : "timed out after " + HolderRendering.preciseSeconds(run.waited) + " waiting for holders: " + summary
        let peers = run.heldPeers
        if !peers.isEmpty {
            message +=
                "; " + peers.map(\.description).joined(separator: ", ")
                + " shares an IOMMU group with the devices to release, and a host driver cannot take them while it is in use (--group releases the whole group once it is free)"
        }
        return message + "; nothing was changed"
    }
}

// MARK: - JSON

/// `vfioctl unbind|restore|cycle --json` (and `--dry-run --json`).
package struct ReleaseDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var command: String
    package var dryRun: Bool
    package var changed: Bool
    package var timedOut: Bool
    package var waitedSeconds: Double
    package var devices: [DeviceEntry]
    package var steps: [StepEntry]
    package var holders: [HolderProcessJSON]
    package var warnings: [String]
    /// restore: the SR-IOV PFs put back last (empty for unbind and cycle).
    package var sriov: [SRIOVEntry]
    var stateFile = HostFiles.state

    package struct SRIOVEntry: Encodable {
        var pf: String
        var numVFs: Int
        @Nullable var autoprobe: Bool?
        /// planned / restored / refused / failed
        var result: String
        @Nullable var message: String?
        var steps: [StepEntry]

        init(_ result: SRIOVRestoreResult, root: HostRoot, dryRun: Bool) {
            pf = result.pf.description
            numVFs = result.numVFs
            autoprobe = result.autoprobe
            if let error = result.error {
                self.result = error.kind == .refused ? "refused" : "failed"
                message = error.message
            } else {
                self.result = dryRun ? "planned" : "restored"
                message = nil
            }
            steps = result.steps.map { StepEntry($0, root: root) }
        }
    }

    package struct DeviceEntry: Encodable {
        var address: String
        @Nullable var group: Int?
        /// release / cycle / keep
        var action: String
        var reason: String
        @Nullable var source: String?
        @Nullable var fromDriver: String?
        @Nullable var fromOverride: String?
        @Nullable var toDriver: String?
        /// The driver afterwards, as far as known.
        @Nullable var driver: String?
        var result: String
        @Nullable var message: String?
    }

    /// A dry run.
    package init(plan: ReleasePlan, root: HostRoot, sriov: [SRIOVRestoreResult] = []) {
        var run = ReleaseRun(plan: plan, wait: ReleaseWait(timeout: .zero))
        run.sriov = sriov
        self.init(run: run, root: root, dryRun: true, now: 0)
    }

    package init(run: ReleaseRun, root: HostRoot, dryRun: Bool, now: Int64) {
        let plan = run.plan
        command = plan.request.kind.rawValue
        self.dryRun = dryRun
        changed =
            !dryRun
            && ((run.report?.results.values.contains { if case .done = $0 { true } else { false } } ?? false)
                || run.sriov.contains { $0.error == nil && !$0.steps.isEmpty })
        timedOut = !run.timedOut.isEmpty
        waitedSeconds = WaitDocument.seconds(run.waited)
        devices =
            plan.moves.map { Self.entry($0, run: run, dryRun: dryRun) }
            + plan.kept.map {
                DeviceEntry(
                    address: $0.address.description, group: $0.group, action: "keep", reason: $0.reason.rawValue, source: nil, fromDriver: $0.driver,
                    fromOverride: nil, toDriver: $0.driver, driver: $0.driver, result: $0.reason.rawValue, message: $0.message)
            }
        steps = plan.steps.map { StepEntry($0, root: root) }
        let processes = (run.lastReport?.holders ?? []) + (run.lastReport?.likelyHolders ?? [])
        holders = processes.map { HolderProcessJSON(process: $0, now: now) }
        warnings = plan.warnings + (run.report?.warnings ?? [])
        sriov = run.sriov.map { SRIOVEntry($0, root: root, dryRun: dryRun) }
    }

    package static func entry(_ move: ReleaseMove, run: ReleaseRun, dryRun: Bool) -> DeviceEntry {
        let kind = run.plan.request.kind
        var entry = DeviceEntry(
            address: move.address.description, group: move.group, action: kind == .cycle ? "cycle" : "release", reason: move.reason.rawValue,
            source: move.source.rawValue, fromDriver: move.from.driver, fromOverride: move.from.override,
            toDriver: move.source == .kernel ? nil : move.to.driver, driver: move.from.driver, result: "planned", message: nil)
        guard !dryRun else { return entry }
        if run.isRefused(move.address) {
            entry.result = "refused"
            entry.message = "its VFs are in use"
        } else if run.isTimedOut(move.address) {
            entry.result = "timed-out"
            entry.message = run.lastReport.map(\.summary)
        } else {
            switch run.result(of: move.address) {
            case .done(let now):
                entry.result = kind == .cycle ? "cycled" : kind == .restore ? "restored" : "released"
                entry.driver = now
            case .rolledBack(let message):
                entry.result = "rolled-back"
                entry.message = message
            case .stranded(let now, let message):
                entry.result = "stranded"
                entry.driver = now
                entry.message = message
            case nil:
                break
            }
        }
        return entry
    }
}

// MARK: - The renderer

extension Renderer {
    package func render(_ outcome: ReleaseOutcome) -> ExitStatus {
        switch outcome {
        case .refused(let refusal):
            refused(refusal.reasons.map(\.line), document: RefusalDocument(refusal))
        case .planned(let plan, let holders, let wait, let sriov):
            if isText { for text in plan.warnings { warning(text) } }
            if mode == .json {
                console.emitJSON(ReleaseDocument(plan: plan, root: root, sriov: sriov))
            } else if isText {
                console.write(
                    ReleaseRendering.dryRun(plan, root: root, holders: holders, timeout: wait.timeout, noWait: wait.noWait)
                        + ReleaseRendering.sriovDryRun(sriov, root: root))
            }
        case .finished(let run):
            renderFinished(run, outcome: outcome)
        }
        return outcome.exitStatus
    }

    package func renderFinished(_ run: ReleaseRun, outcome: ReleaseOutcome) {
        if isText { for text in run.plan.warnings { warning(text) } }
        for reason in run.refusals { console.error("vfioctl: refused: " + reason.line) }
        if run.gaveUp {
            if mode == .json { console.emitJSON(ReleaseDocument(run: run, root: root, dryRun: false, now: Self.now())) }
            console.error("vfioctl: " + ReleaseRendering.gaveUpMessage(run))
            return
        }
        for text in run.report?.warnings ?? [] { warning(text) }
        if mode == .json {
            console.emitJSON(ReleaseDocument(run: run, root: root, dryRun: false, now: Self.now()))
        } else if isText {
            console.write(run.report == nil ? ReleaseRendering.nothingToDo(run.plan) : ReleaseRendering.done(run))
        }
        for line in ReleaseRendering.closingLines(run) { console.error("vfioctl: " + line) }
        for pf in run.sriov {
            if let error = pf.error {
                console.error("vfioctl: " + error.message)
            } else if isText {
                console.write("\(pf.pf): sriov_numvfs back to \(pf.numVFs)" + (pf.autoprobe.map { ", sriov_drivers_autoprobe to \($0 ? 1 : 0)" } ?? "") + "\n")
            }
            if let text = pf.warning { warning(text) }
        }
    }

    package static func now() -> Int64 { Int64(time(nil)) }
}
