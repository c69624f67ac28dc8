import VFIOModel

/// What `vfioctl hook` logs, by severity: what it did (info), what went wrong without undoing
/// it (warnings, from the outcome's own lists), and why it did not (errors), in the same words
/// `bind` and `restore` print.
package struct HookLines: Equatable {
    package var info: [String] = []
    package var warnings: [String] = []
    package var errors: [String] = []
}

package enum HookRendering {
    package static func lines(_ outcome: HookOutcome) -> HookLines {
        var lines = HookLines()
        switch outcome {
        case .nothing:
            break
        case .prepared(let bind):
            switch bind.result {
            case .refused(let refusal):
                lines.errors = refusal.reasons.map { "refused: " + $0.line }
            case .gaveUp(let refusal, let report, let waited):
                lines.errors = [BindRendering.gaveUpMessage(refusal, report: report, waited: waited)]
            case .planned(let plan):
                lines.info = split(BindRendering.alreadyBoundText(plan))
            case .bound(let plan, let report):
                lines.info = split(BindRendering.done(plan, report: report, inventory: bind.inventory, groupNodes: bind.groupNodes))
                lines.warnings = report.warnings
            case .failed(_, let error):
                lines.errors = [error.message]
            }
        case .released(let release):
            // Gave up: nothing was written, and the error line says why.
            if case .finished(let run) = release, !run.gaveUp { lines.info = split(ReleaseRendering.done(run)) }
            guard release.exitStatus == .success else {
                lines.errors = ReleaseRendering.errorLines(release)
                break
            }
            if case .finished(let run) = release {
                lines.info += run.refusals.map { "refused: " + $0.line }
                if run.gaveUp {
                    lines.info.append(ReleaseRendering.gaveUpMessage(run))
                } else {
                    lines.warnings = run.plan.warnings + (run.report?.warnings ?? [])
                    lines.info += ReleaseRendering.closingLines(run)
                }
            }
        }
        return lines
    }

    package static func split(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }
}

extension Renderer {
    /// A hook's outcome: each line to the system log, prefixed with the VM and the phase; on
    /// failure one line on standard error, which the VM manager shows as the reason.
    package func renderHook(_ outcome: HookOutcome, prefix: String, log: Syslog) -> ExitStatus {
        let lines = HookRendering.lines(outcome)
        for line in lines.info { log.log(.info, prefix + line) }
        for line in lines.warnings { log.log(.warning, prefix + "warning: " + line) }
        for line in lines.errors { log.log(.error, prefix + line, fallback: false) }
        if outcome.exitStatus != .success {
            console.error("vfioctl: " + prefix + (lines.errors.isEmpty ? "failed" : lines.errors.joined(separator: "; ")))
        }
        return outcome.exitStatus
    }
}
