import VFIOModel

/// What `vfioctl hook` logs: what it did (info) and why it did not (errors), in the same words
/// `bind` and `restore` print.
package enum HookRendering {
    package static func lines(_ outcome: HookOutcome) -> (info: [String], errors: [String]) {
        switch outcome {
        case .nothing:
            return ([], [])
        case .prepared(let bind):
            switch bind.result {
            case .refused(let refusal):
                return ([], refusal.reasons.map { "refused: " + $0.line })
            case .gaveUp(let refusal, let report, let waited):
                return ([], [BindRendering.gaveUpMessage(refusal, report: report, waited: waited)])
            case .planned(let plan):
                return (split(BindRendering.alreadyBoundText(plan)), [])
            case .bound(let plan, let report):
                return (split(BindRendering.done(plan, report: report, inventory: bind.inventory, groupNodes: bind.groupNodes)) + report.warnings.map { "warning: " + $0 }, [])
            case .failed(_, let error):
                return ([], [error.message])
            }
        case .released(let release):
            var info: [String] = []
            // Gave up: nothing was written, and the error line says why.
            if case .finished(let run) = release, !run.gaveUp { info = split(ReleaseRendering.done(run)) }
            let problems = ReleaseRendering.errorLines(release)
            if release.exitStatus == .success { return (info + problems, []) }
            return (info, problems)
        }
    }

    package static func split(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }
}

extension Renderer {
    /// A hook's outcome: each line to the system log, prefixed with the VM and the phase; on
    /// failure one line on standard error, which the VM manager shows as the reason.
    package func renderHook(_ outcome: HookOutcome, prefix: String, log: Syslog) -> ExitStatus {
        let (info, errors) = HookRendering.lines(outcome)
        for line in info { log.log(line.hasPrefix("warning: ") ? .warning : .info, prefix + line) }
        for line in errors { log.log(.error, prefix + line, fallback: false) }
        if outcome.exitStatus != .success {
            console.error("vfioctl: " + prefix + (errors.isEmpty ? "failed" : errors.joined(separator: "; ")))
        }
        return outcome.exitStatus
    }
}
