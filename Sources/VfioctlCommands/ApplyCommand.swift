import ArgumentParser
import VFIOKit

struct ApplyCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Make the host match a desired-state file: which devices on which driver",
        discussion: """
            Reads FILE, or /etc/vfioctl.conf and /etc/vfioctl.conf.d/*.conf, and moves each device the file names with \
            the same rules as 'bind' and 'unbind' (viability, in-use guards, waiting for holders). Reports every device \
            as changed, unchanged, refused or failed. Idempotent: a second run changes nothing.

            Exit status: 0 when the host matches the file; otherwise 4 if a rollback failed, 1 if a change failed, \
            3 if holders did not let go in time, 2 if something was refused.

            Examples:
              vfioctl apply --dry-run
              vfioctl apply /etc/vfioctl.conf --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The desired-state file (default: /etc/vfioctl.conf and /etc/vfioctl.conf.d/*.conf under the root prefix).", valueName: "FILE"), completion: .file())
    var file: String?

    @Option(name: .long, help: ArgumentHelp("Wait at most DURATION for holders of a device being released, unless the file says otherwise (default 30s). DURATION is \(DurationText.forms).", valueName: "DURATION"))
    var timeout: String?

    @OptionGroup var mutation: MutationOptions

    enum Status: String, Encodable {
        case changed, unchanged, refused, failed, timeout, planned
    }

    struct Result: Encodable {
        let address: String
        let from: String?
        let to: String
        let status: Status
        let message: String?
        let source: String

        enum Keys: String, CodingKey { case address, from, to, status, message, source }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(address, forKey: .address)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(status, forKey: .status)
            try c.encode(message, forKey: .message)
            try c.encode(source, forKey: .source)
        }
    }

    mutating func execute(_ context: CommandContext) throws {
        var defaultTimeout: Duration = .seconds(30)
        if let timeout {
            defaultTimeout = try DurationText.parse(timeout, name: "--timeout")
        }
        var desired = try DesiredState.load(root: context.root, file: file)
        if desired.timeout == nil { desired.timeout = defaultTimeout }
        if !mutation.dryRun {
            try Privilege.requireRoot(for: "apply", root: context.root, effectiveUID: context.services.effectiveUID)
        }
        let lock = try mutation.acquireLock(context)
        defer { lock?.release() }

        let inventory = try InventoryReader(root: context.root, database: nil, fields: .forChanges).read()
        let plan = ApplyPlanner.plan(desired.resolve(against: inventory), inventory: inventory)
        var results: [PCIAddress: Result] = [:]
        var rollbackFailed = false
        var dryRunText = ""
        func record(_ address: PCIAddress, _ status: Status, _ message: String?) {
            guard let item = plan.items.first(where: { $0.address == address }) else { return }
            results[address] = Result(
                address: address.description, from: item.currentDriver, to: item.desired.description, status: status, message: message, source: item.source)
        }
        for item in plan.items {
            switch item.disposition {
            case .unchanged: record(item.address, .unchanged, nil)
            case .refused(let why): record(item.address, .refused, why)
            case .bind, .release: break
            }
        }

        // Binds: one transaction per batch, each planned against the host as it is now.
        let executor = Executor(root: context.root, kernel: context.services.kernel(context.root), options: context.services.executorOptions)
        for batch in plan.bindBatches {
            let current = try InventoryReader(root: context.root, database: nil, fields: .forChanges).read()
            let affected = try BindPlanner.affectedDevices(batch.request, inventory: current)
            let uses = InUseDetector(root: context.root).uses(of: affected)
            switch try BindPlanner.plan(batch.request, inventory: current, environment: BindEnvironment.read(root: context.root), uses: uses) {
            case .refused(let refusal):
                for address in batch.addresses {
                    let mine = refusal.reasons.filter { $0.address == address }
                    record(address, .refused, (mine.isEmpty ? refusal.reasons : mine).map(\.line).joined(separator: "; "))
                }
            case .plan(let bindPlan):
                if mutation.dryRun {
                    dryRunText += BindRendering.dryRun(bindPlan, root: context.root)
                    for address in batch.addresses { record(address, .planned, "would bind to \(batch.request.driver)") }
                    continue
                }
                do {
                    _ = try BindOperation(root: context.root, executor: executor).execute(bindPlan)
                    for address in batch.addresses { record(address, .changed, "bound to \(batch.request.driver)") }
                } catch {
                    let status: Status = .failed
                    for address in batch.addresses { record(address, status, error.message) }
                    if case .rollbackFailed = error { rollbackFailed = true }
                }
            }
        }

        // Releases: the same waiting and group rules as `unbind`.
        for release in plan.releases {
            let outcome = ApplyReleaser.release(release, context: context, mutation: mutation, defaultTimeout: desired.timeout ?? defaultTimeout)
            if let text = outcome.dryRunText { dryRunText += text }
            record(release.address, outcome.status, outcome.message)
            if outcome.rollbackFailed { rollbackFailed = true }
        }

        let ordered = plan.items.compactMap { results[$0.address] }
        let matches = ordered.allSatisfy { $0.status == .unchanged || $0.status == .changed } && plan.unmatched.isEmpty
        if context.options.json {
            context.console.emitJSON(
                ApplyDocument(
                    dryRun: mutation.dryRun, matches: mutation.dryRun ? false : matches, devices: ordered,
                    unmatched: plan.unmatched.map { .init(source: $0.source, reason: $0.reason) }))
        } else if !context.options.quiet {
            if mutation.dryRun && !dryRunText.isEmpty { context.console.write(dryRunText) }
            context.console.write(ApplyRendering.table(ordered, unmatched: plan.unmatched))
        }
        if mutation.dryRun { return }
        let code: Int32
        if rollbackFailed {
            code = 4
        } else if ordered.contains(where: { $0.status == .failed }) {
            code = 1
        } else if ordered.contains(where: { $0.status == .timeout }) {
            code = 3
        } else if ordered.contains(where: { $0.status == .refused }) || !plan.unmatched.isEmpty {
            code = 2
        } else {
            code = 0
        }
        if code != 0 { throw ExitStatus(code: code) }
    }
}

struct ApplyDocument: Encodable {
    struct Unmatched: Encodable {
        let source: String
        let reason: String
    }
    var schemaVersion = jsonSchemaVersion
    let dryRun: Bool
    /// The host matches the file after this run.
    let matches: Bool
    let devices: [ApplyCommand.Result]
    let unmatched: [Unmatched]
}

enum ApplyRendering {
    static func table(_ results: [ApplyCommand.Result], unmatched: [(source: String, reason: String)]) -> String {
        var table = Table(["STATUS", "ADDRESS", "FROM", "TO", "SOURCE", "NOTE"])
        for result in results {
            table.add([result.status.rawValue, result.address, result.from ?? "-", result.to, result.source, result.message ?? ""])
        }
        var out = results.isEmpty ? "nothing to apply: the file names no device on this host\n" : table.render()
        for entry in unmatched { out += "unmatched  \(entry.source): \(entry.reason)\n" }
        let changed = results.filter { $0.status == .changed }.count
        let unchanged = results.filter { $0.status == .unchanged }.count
        let others = results.count - changed - unchanged
        out += "\(changed) changed, \(unchanged) unchanged, \(others) not done\n"
        return out
    }
}
