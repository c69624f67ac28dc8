import VFIOKit

#if canImport(Glibc)
import Glibc
#endif

/// `sriov --json`: one document whatever happened.
struct SRIOVDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var command = "sriov"
    var dryRun: Bool
    var changed: Bool
    /// done, planned, refused, timeout or failed.
    var result: String
    var pf: String
    @Nullable var pfDriver: String?
    var totalVFs: Int
    var numVFsBefore: Int
    var numVFs: Int
    @Nullable var autoprobeBefore: Bool?
    /// The VFs at the end (for a dry run, where they would be when known).
    var vfs: [String]
    @Nullable var vfDriver: String?
    /// The autoprobe and sriov_numvfs writes, then the VFs' bind steps.
    var steps: [StepEntry]
    var bindSteps: [StepEntry]
    var holders: [HolderProcessJSON]
    var errors: [String]
    var stateFile = StateStore.hostPath

    init(_ outcome: SRIOVOutcome, root: HostRoot, dryRun: Bool) {
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
enum SRIOVRendering {
    static func bindSteps(_ bind: SRIOVBind) -> [OperationStep] {
        switch bind {
        case .none: []
        case .predicted(_, let steps): steps
        case .plan(let plan): plan.steps
        }
    }

    static func timeoutMessage(_ outcome: SRIOVOutcome) -> String {
        guard case .timedOut(let report, let waited) = outcome.result else { return "" }
        let plan = outcome.plan
        return
            "timed out after \(HolderRendering.seconds(waited)) waiting for \(plan.pf)'s VFs to be released (\(report.summary)); nothing was changed: sriov_numvfs stays \(plan.currentNumVFs)"
    }

    static func dryRun(_ outcome: SRIOVOutcome, root: HostRoot) -> String {
        let plan = outcome.plan
        var out = "# vfioctl sriov --dry-run: nothing was changed. The writes it would make, in order:\n"
        if outcome.writeSteps.isEmpty && bindSteps(outcome.bind).isEmpty {
            return out + "# nothing to do: \(plan.pf) has \(plan.currentNumVFs) VFs\(boundText(outcome))\n"
        }
        out += "# (first: take \(HostLock.hostPath), record sriov_numvfs \(plan.currentNumVFs) and autoprobe in \(StateStore.hostPath))\n"
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

    static func boundText(_ outcome: SRIOVOutcome) -> String {
        guard let driver = outcome.plan.request.vfDriver, !outcome.vfs.isEmpty else { return "" }
        return ", all on \(driver)"
    }

    static func done(_ outcome: SRIOVOutcome) -> String {
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
    func render(_ outcome: SRIOVOutcome) -> ExitStatus {
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
        if mode == .json { console.emitJSON(SRIOVDocument(outcome, root: root, dryRun: dryRun)) }
        return outcome.exitStatus
    }
}
