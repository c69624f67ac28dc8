import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// `sriov --json`: one document whatever happened.
package struct SRIOVDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var command = "sriov"
    package var dryRun: Bool
    package var changed: Bool
    /// done, planned, refused, timeout or failed.
    package var result: String
    package var pf: String
    @Nullable package var pfDriver: String?
    package var totalVFs: Int
    package var numVFsBefore: Int
    package var numVFs: Int
    @Nullable package var autoprobeBefore: Bool?
    /// The VFs at the end (for a dry run, where they would be when known).
    package var vfs: [String]
    @Nullable package var vfDriver: String?
    /// The autoprobe and sriov_numvfs writes, then the VFs' bind steps.
    package var steps: [StepEntry]
    package var bindSteps: [StepEntry]
    package var holders: [HolderProcessJSON]
    package var errors: [String]
    var stateFile = HostFiles.state

    package init(_ outcome: SRIOVOutcome, root: HostRoot, dryRun: Bool) {
        let plan = outcome.plan
        self.dryRun = dryRun
        changed = outcome.changed
        pf = plan.pf.description
        pfDriver = plan.pfDriver
        totalVFs = plan.totalVFs
        numVFsBefore = plan.currentNumVFs
        numVFs = plan.request.numVFs
        autoprobeBefore = plan.currentAutoprobe
        vfs = outcome.vfs.map(\.description)
        vfDriver = plan.request.vfDriver
        steps = outcome.writeSteps.map { StepEntry($0, root: root) }
        bindSteps = SRIOVRendering.bindSteps(outcome.bind).map { StepEntry($0, root: root) }
        holders = []
        errors = []
        switch outcome.result {
        case .done: result = "done"
        case .planned: result = "planned"
        case .refused(let reasons):
            result = "refused"
            errors = reasons.map(\.message)
        case .timedOut(let report, _):
            result = "timeout"
            let now = Int64(time(nil))
            holders = report.holders.map { HolderProcessJSON(process: $0, now: now) }
            errors = [SRIOVRendering.timeoutMessage(outcome)]
        case .failed(let error):
            result = "failed"
            errors = [error.message]
        }
    }
}

/// Text for `sriov`.
package enum SRIOVRendering {
    package static func bindSteps(_ bind: SRIOVBind) -> [OperationStep] {
        switch bind {
        case .none: []
        case .predicted(_, let steps): steps
        case .plan(let plan): plan.steps
        }
    }

    package static func timeoutMessage(_ outcome: SRIOVOutcome) -> String {
        guard case .timedOut(let report, let waited) = outcome.result else { return "" }
        let plan = outcome.plan
        return
            "timed out after \(HolderRendering.seconds(waited)) waiting for \(plan.pf)'s VFs to be released (\(report.summary)); nothing was changed: sriov_numvfs stays \(plan.currentNumVFs)"
    }

    package static func dryRun(_ outcome: SRIOVOutcome, root: HostRoot) -> String {
        let plan = outcome.plan
        var out = "# vfioctl sriov --dry-run: nothing was changed. The writes it would make, in order:\n"
        if outcome.writeSteps.isEmpty && bindSteps(outcome.bind).isEmpty {
            return out + "# nothing to do: \(plan.pf) has \(plan.currentNumVFs) VFs\(boundText(outcome))\n"
        }
        out += "# (first: take \(HostFiles.lock), record sriov_numvfs \(plan.currentNumVFs) and autoprobe in \(HostFiles.state))\n"
        for step in outcome.writeSteps { out += step.shellLine(root: root) + "\n" }
        switch outcome.bind {
        case .none: break
        case .predicted(let driver, let steps):
            out += "# then bind the new VFs (\(outcome.vfs.map(\.description).joined(separator: " "))) to \(driver) as one transaction:\n"
            for step in steps { out += step.shellLine(root: root) + "\n" }
        case .plan(let bind):
            out += "# then bind the VFs to \(bind.request.driver) as one transaction:\n"
            for step in bind.steps { out += step.shellLine(root: root) + "\n" }
        }
        return out
    }

    package static func boundText(_ outcome: SRIOVOutcome) -> String {
        guard let driver = outcome.plan.request.vfDriver, !outcome.vfs.isEmpty else { return "" }
        return ", all on \(driver)"
    }

    package static func done(_ outcome: SRIOVOutcome) -> String {
        let plan = outcome.plan
        var out = ""
        if plan.changesCount {
            out += "\(plan.pf): sriov_numvfs \(plan.currentNumVFs) -> \(plan.request.numVFs)"
            if plan.steps.contains(.write(.setAutoprobe(plan.pf, to: false))) { out += " (sriov_drivers_autoprobe set to 0 first)" }
            out += "\n"
        } else {
            out += "\(plan.pf) already has \(plan.currentNumVFs) VFs\n"
        }
        if let msix = plan.msix { out += "each VF has \(msix) MSI-X vectors (sriov_vf_msix_count)\n" }
        if case .plan(let bind) = outcome.bind {
            for move in bind.moves { out += "bound \(move.address) to \(move.to.driver ?? "") (was \(move.from.driver ?? "unbound"))\n" }
            for kept in bind.kept where kept.reason == .alreadyBound { out += "\(kept.address) was already bound to \(bind.request.driver)\n" }
        } else if !outcome.vfs.isEmpty {
            out += "VFs: " + outcome.vfs.map(\.description).joined(separator: " ") + "\n"
        }
        return out
    }
}

extension Renderer {
    package func render(_ outcome: SRIOVOutcome) -> ExitStatus {
        let dryRun: Bool
        if case .planned = outcome.result { dryRun = true } else { dryRun = false }
        switch outcome.result {
        case .refused(let reasons):
            for reason in reasons { console.error("vfioctl: refused: " + reason.message) }
            console.error("vfioctl: nothing was changed")
        case .timedOut:
            console.error("vfioctl: " + SRIOVRendering.timeoutMessage(outcome))
        case .failed(let error):
            console.error("vfioctl: " + error.message)
        case .planned:
            if isText { console.write(SRIOVRendering.dryRun(outcome, root: root)) }
        case .done:
            if isText { console.write(SRIOVRendering.done(outcome)) }
        }
        for text in outcome.warnings { warning(text) }
        if mode == .json { console.emitJSON(SRIOVDocument(outcome, root: root, dryRun: dryRun)) }
        return outcome.exitStatus
    }
}
