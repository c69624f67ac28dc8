import VFIOKit

// MARK: - Text

/// Text for `unbind`, `restore` and `cycle`.
enum ReleaseRendering {
    static func dryRun(_ plan: ReleasePlan, root: HostRoot, holders: HolderReport?, timeout: Duration, noWait: Bool) -> String {
        let name = plan.request.kind.rawValue
        var out = "# vfioctl \(name) --dry-run: nothing was changed. The writes \(name) would make, in order:\n"
        if plan.isNoOp {
            return out + "# nothing to do: " + nothingToDo(plan).split(separator: "\n").joined(separator: "; ") + "\n"
        }
        let waitFor = plan.waitFor.map(\.description).joined(separator: ", ")
        let limit = noWait ? "without waiting (--no-wait)" : "up to " + HolderRendering.preciseSeconds(timeout)
        out += "# (first: take \(HostLock.hostPath); wait \(limit) until no process holds \(waitFor); look again)\n"
        if let holders, !holders.isFree {
            out += "# now: " + HolderRendering.summary(holders) + "\n"
        }
        for step in plan.steps {
            out += step.shellLine(root: root) + "\n"
        }
        for move in plan.moves where move.source == .kernel {
            out += "# \(move.address): no record of its original driver: the kernel picks one\n"
        }
        if plan.request.kind != .cycle {
            out += "# (then: forget the devices in \(StateStore.hostPath))\n"
        }
        return out
    }

    static func nothingToDo(_ plan: ReleasePlan) -> String {
        if plan.request.kind == .restore && plan.kept.isEmpty {
            return "nothing to restore: \(StateStore.hostPath) records no device\n"
        }
        var out = ""
        for kept in plan.kept {
            out += kept.message + "\n"
        }
        return out.isEmpty ? "nothing to do\n" : out
    }

    static func done(_ plan: ReleasePlan, _ outcome: ReleaseOutcome) -> String {
        var out = ""
        if outcome.scans > 1, outcome.waited > .zero {
            out += "waited " + HolderRendering.preciseSeconds(outcome.waited) + " for the devices to be free\n"
        }
        for move in plan.moves {
            let was = move.from.driver ?? "unbound"
            if outcome.isRefused(move.address) {
                out += "\(move.address): refused (its VFs are in use); left on \(was)\n"
                continue
            }
            if outcome.isTimedOut(move.address) {
                out += "\(move.address): timed out waiting for holders; left on \(was)\n"
                continue
            }
            switch outcome.result(of: move.address) {
            case .done(let driver):
                switch plan.request.kind {
                case .cycle:
                    out += "cycled \(move.address) on \(driver ?? was)\n"
                case .unbind, .restore:
                    let verb = plan.request.kind == .restore ? "restored" : "released"
                    if let driver {
                        out += "\(verb) \(move.address) to \(driver)" + (move.source == .kernel ? " (the kernel's choice; was \(was))\n" : " (was \(was))\n")
                    } else {
                        out += "\(verb) \(move.address): unbound" + (move.source == .kernel ? " (the kernel bound no driver; was \(was))\n" : " (was \(was))\n")
                    }
                }
            case .rolledBack:
                out += "\(move.address): failed; back on \(was)\n"
            case .stranded(let driver, _):
                out += "\(move.address): failed; left \(driver.map { "on " + $0 } ?? "unbound")\n"
            case nil:
                out += "\(move.address): not changed\n"
            }
        }
        for kept in plan.kept {
            out += kept.message + "\n"
        }
        return out
    }
}

// MARK: - JSON

/// `vfioctl unbind|restore|cycle --json` (and `--dry-run --json`).
struct ReleaseDocument: Encodable {
    let plan: ReleasePlan
    let root: HostRoot
    let dryRun: Bool
    let outcome: ReleaseOutcome
    let now: Int64

    struct DeviceEntry: Encodable {
        let address: String
        let group: Int?
        /// release / cycle / keep
        let action: String
        let reason: String
        let source: String?
        let fromDriver: String?
        let fromOverride: String?
        let toDriver: String?
        /// The driver afterwards, as far as known.
        let driver: String?
        let result: String
        let message: String?

        enum Keys: String, CodingKey { case address, group, action, reason, source, fromDriver, fromOverride, toDriver, driver, result, message }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(address, forKey: .address)
            try c.encode(group, forKey: .group)
            try c.encode(action, forKey: .action)
            try c.encode(reason, forKey: .reason)
            try c.encode(source, forKey: .source)
            try c.encode(fromDriver, forKey: .fromDriver)
            try c.encode(fromOverride, forKey: .fromOverride)
            try c.encode(toDriver, forKey: .toDriver)
            try c.encode(driver, forKey: .driver)
            try c.encode(result, forKey: .result)
            try c.encode(message, forKey: .message)
        }
    }

    var devices: [DeviceEntry] {
        var entries: [DeviceEntry] = []
        let kind = plan.request.kind
        for move in plan.moves {
            var result = "planned"
            var driver = move.from.driver
            var message: String?
            if !dryRun {
                if outcome.isRefused(move.address) {
                    result = "refused"
                    message = "its VFs are in use"
                } else if outcome.isTimedOut(move.address) {
                    result = "timed-out"
                    message = outcome.lastReport.map(HolderRendering.summary)
                } else {
                    switch outcome.result(of: move.address) {
                    case .done(let now):
                        result = kind == .cycle ? "cycled" : kind == .restore ? "restored" : "released"
                        driver = now
                    case .rolledBack(let m):
                        result = "rolled-back"
                        message = m
                    case .stranded(let now, let m):
                        result = "stranded"
                        driver = now
                        message = m
                    case nil:
                        break
                    }
                }
            }
            entries.append(
                DeviceEntry(
                    address: move.address.description, group: move.group, action: kind == .cycle ? "cycle" : "release", reason: move.reason.rawValue,
                    source: move.source.rawValue, fromDriver: move.from.driver, fromOverride: move.from.override,
                    toDriver: move.source == .kernel ? nil : move.to.driver, driver: driver, result: result, message: message))
        }
        for kept in plan.kept {
            entries.append(
                DeviceEntry(
                    address: kept.address.description, group: kept.group, action: "keep", reason: kept.reason.rawValue, source: nil,
                    fromDriver: kept.driver, fromOverride: nil, toDriver: kept.driver, driver: kept.driver, result: kept.reason.rawValue,
                    message: kept.message))
        }
        return entries
    }

    var changed: Bool {
        !dryRun && (outcome.report?.results.values.contains { if case .done = $0 { true } else { false } } ?? false)
    }

    enum Keys: String, CodingKey {
        case schemaVersion, command, dryRun, changed, timedOut, waitedSeconds, devices, steps, holders, warnings, stateFile
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(plan.request.kind.rawValue, forKey: .command)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(changed, forKey: .changed)
        try c.encode(!outcome.timedOut.isEmpty, forKey: .timedOut)
        try c.encode(WaitDocument.seconds(outcome.waited), forKey: .waitedSeconds)
        try c.encode(devices, forKey: .devices)
        try c.encode(plan.steps.map { BindDocument.StepEntry($0, root: root) }, forKey: .steps)
        let holders = (outcome.lastReport?.holders ?? []) + (outcome.lastReport?.likelyHolders ?? [])
        try c.encode(holders.map { HolderProcessJSON(process: $0, now: now) }, forKey: .holders)
        try c.encode(plan.warnings + (outcome.report?.warnings ?? []), forKey: .warnings)
        try c.encode(StateStore.hostPath, forKey: .stateFile)
    }
}

extension BindDocument.StepEntry {
    init(_ step: OperationStep, root: HostRoot) {
        switch step {
        case .loadModule(let module):
            self.init(kind: "modprobe", path: nil, value: nil, address: nil, driver: nil, module: module, shell: step.shellLine(root: root))
        case .write(let write):
            self.init(kind: "write", path: write.path, value: write.value, address: nil, driver: nil, module: nil, shell: step.shellLine(root: root))
        case .verify(let address, let driver):
            self.init(kind: "verify", path: nil, value: nil, address: address.description, driver: driver, module: nil, shell: step.shellLine(root: root))
        }
    }
}

/// A refused unbind, restore or cycle as JSON: the error plus every reason.
struct ReleaseRefusalDocument: Encodable {
    let refusal: ReleaseRefusal

    init(_ refusal: ReleaseRefusal) { self.refusal = refusal }

    struct Entry: Encodable {
        let reason: ReleaseRefusal.Reason
        enum Keys: String, CodingKey { case kind, address, group, driver, message, remedy }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(reason.kind.rawValue, forKey: .kind)
            try c.encode(reason.address.description, forKey: .address)
            try c.encode(reason.group, forKey: .group)
            try c.encode(reason.driver, forKey: .driver)
            try c.encode(reason.message, forKey: .message)
            try c.encode(reason.remedy, forKey: .remedy)
        }
    }

    enum Keys: String, CodingKey { case schemaVersion, error, refusals }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        let error = VFIOError.refused(refusal.message)
        try c.encode(jsonSchemaVersion, forKey: .schemaVersion)
        try c.encode(ErrorDocument.Body(code: error.exitCode, kind: error.kind, message: refusal.message), forKey: .error)
        try c.encode(refusal.reasons.map(Entry.init), forKey: .refusals)
    }
}
