import VFIOModel

/// `vfioctl apply --json`.
package struct ApplyDocument: Encodable {
    package struct Device: Encodable {
        var address: String
        @Nullable var from: String?
        var to: String
        var status: String
        @Nullable var message: String?
        var source: String

        init(address: String, from: String?, to: String, status: String, message: String?, source: String) {
            self.address = address
            self.from = from
            self.to = to
            self.status = status
            self.message = message
            self.source = source
        }

        init(_ entry: ApplyOutcome.Entry) {
            self.init(
                address: entry.address.description, from: entry.from, to: entry.to, status: entry.status.rawValue, message: ApplyRendering.message(entry),
                source: entry.source)
        }
    }

    package struct Unmatched: Encodable {
        var source: String
        var reason: String
    }

    var schemaVersion = jsonSchemaVersion
    package var dryRun: Bool
    /// The host matches the file after this run.
    package var matches: Bool
    package var devices: [Device]
    package var unmatched: [Unmatched]
    /// The CDI spec file kept in step, when the file names one.
    @Nullable package var cdi: CDIUpdateDocument?
    /// The claim-at-add files.
    @Nullable package var claim: ClaimUpdateDocument?

    package init(_ outcome: ApplyOutcome) {
        cdi = outcome.cdi.map(CDIUpdateDocument.init)
        claim = outcome.claim.map(ClaimUpdateDocument.init)
        dryRun = outcome.dryRun
        matches = outcome.matches
        devices = outcome.entries.map {
            Device(address: $0.address.description, from: $0.from, to: $0.to, status: $0.status.rawValue, message: ApplyRendering.message($0), source: $0.source)
        }
        unmatched = outcome.unmatched.map { Unmatched(source: $0.source, reason: $0.reason) }
    }
}

/// Text for `apply`.
package enum ApplyRendering {
    package static func table(_ outcome: ApplyOutcome) -> String {
        var table = Table(["STATUS", "ADDRESS", "FROM", "TO", "SOURCE", "NOTE"])
        for entry in outcome.entries {
            table.add([entry.status.rawValue, entry.address.description, entry.from ?? "-", entry.to, entry.source, message(entry) ?? ""])
        }
        var out = outcome.entries.isEmpty ? "nothing to apply: the file names no device on this host\n" : table.render()
        for entry in outcome.unmatched { out += "unmatched  \(entry.source): \(entry.reason)\n" }
        if let cdi = outcome.cdi {
            if let error = cdi.error {
                out += "cdi        \(cdi.path): not written: \(error.message)\n"
            } else {
                out += "cdi        \(cdi.path): \(cdi.devices.count) group(s)" + (cdi.changed ? ", rewritten" : ", unchanged") + "\n"
            }
        }
        if let claim = outcome.claim { out += ClaimRendering.lines(claim) }
        let changed = outcome.entries.filter { $0.status == .changed }.count
        let unchanged = outcome.entries.filter { $0.status == .unchanged }.count
        let others = outcome.entries.count - changed - unchanged
        out += "\(changed) changed, \(unchanged) unchanged, \(others) not done\n"
        return out
    }

    /// The per-device note: what was done, or the last word of what refused or failed it.
    package static func message(_ entry: ApplyOutcome.Entry) -> String? {
        switch entry.detail {
        case .none:
            return nil
        case .notPossible(let why):
            return why
        case .bind(let outcome, let driver):
            switch outcome.result {
            case .refused(let refusal):
                let mine = refusal.reasons.filter { $0.address == entry.address }
                return (mine.isEmpty ? refusal.reasons : mine).map(\.line).joined(separator: "; ")
            case .gaveUp(let refusal, let report, let waited):
                return BindRendering.gaveUpMessage(refusal, report: report, waited: waited)
            case .planned: return "would bind to \(driver)"
            case .bound: return "bound to \(driver)"
            case .failed(_, let error): return error.message
            }
        case .release(let outcome, let to):
            switch entry.status {
            case .changed: return "released to " + (to ?? "its original driver")
            case .planned: return "would give back to " + (to ?? "its original driver")
            default: return ReleaseRendering.errorLines(outcome).last
            }
        case .releaseError(let error, _), .sriovError(let error):
            return error.message
        case .sriov(let outcome):
            switch outcome.result {
            case .done: return entry.status == .unchanged ? nil : "\(outcome.vfs.count) VFs" + (outcome.plan.request.vfDriver.map { " on " + $0 } ?? "")
            case .planned: return "would set sriov_numvfs to \(outcome.plan.request.numVFs)"
            case .refused(let reasons): return reasons.map(\.message).joined(separator: "; ")
            case .timedOut: return SRIOVRendering.timeoutMessage(outcome)
            case .failed(let error): return error.message
            }
        }
    }

    /// `--dry-run`: the writes of every planned bind and release, in the order they would run.
    package static func dryRun(_ outcome: ApplyOutcome, root: HostRoot) -> String {
        var out = ""
        for step in outcome.steps {
            switch step {
            case .bind(let bind, _):
                if case .planned(let plan) = bind.result { out += BindRendering.dryRun(plan, root: root) }
            case .sriov(let sriov):
                if case .planned = sriov.result { out += SRIOVRendering.dryRun(sriov, root: root) }
            case .release(.planned(let plan, let holders, let wait, _), _):
                out += ReleaseRendering.dryRun(plan, root: root, holders: holders, timeout: wait.timeout, noWait: wait.noWait)
            default:
                break
            }
        }
        if let claim = outcome.claim { out += ClaimRendering.script(claim, root: root) }
        return out
    }
}

extension Renderer {
    package func render(_ outcome: ApplyOutcome) -> ExitStatus {
        if mode == .json {
            console.emitJSON(ApplyDocument(outcome))
        } else if isText {
            if outcome.dryRun { console.write(ApplyRendering.dryRun(outcome, root: root)) }
            console.write(ApplyRendering.table(outcome))
            // The binds are right; whether VFIO will then attach their groups is said as bind says it.
            for case .bind(let bind, _) in outcome.steps {
                switch bind.result {
                case .planned(let plan), .bound(let plan, _): attachMessages(plan, bind)
                default: break
                }
            }
        }
        return outcome.exitStatus
    }
}
