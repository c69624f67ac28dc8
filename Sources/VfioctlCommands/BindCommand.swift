import ArgumentParser
import VFIOKit

struct BindCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Move devices to vfio-pci (or a VFIO variant driver), keeping their groups viable",
        discussion: """
            For each device: write the driver to driver_override, unbind the current driver, write the address to \
            drivers_probe, and verify the driver link (and vfio-dev/ and /dev/vfio/N). The original driver and \
            override are recorded in /run/vfioctl/state.json before the first write, so 'vfioctl unbind' can give \
            the device back. All devices of one run form one transaction: if any fails, every one is returned to \
            where it was.

            Refused (exit 2, nothing changed): a bind that would leave an IOMMU group with a member on a host DMA \
            driver (use --group to move them too), a bridge, and a device the host is using (a mounted or swap \
            block device, a configured network interface, the boot display or a framebuffer, an SR-IOV PF with VFs \
            enabled) unless --force. The root filesystem's device is refused even with --force.

            Examples:
              vfioctl bind 01:00.0 --dry-run
              vfioctl bind --group 01:00.0
              vfioctl bind group:12 --json
              vfioctl bind 15b3:101e --driver mlx5_vfio_pci
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @Flag(name: .long, help: "Also move every other endpoint of each group that would keep it from being viable.")
    var group = false

    @Option(name: .long, help: ArgumentHelp("The VFIO driver to bind to (default vfio-pci).", valueName: "NAME"))
    var driver: String = DriverName.vfioPCI

    @Flag(name: .long, help: "Bind even when the host is using the device (never for the root filesystem's device).")
    var force = false

    @OptionGroup var mutation: MutationOptions

    func validate() throws {
        if targets.isEmpty { throw ValidationError("bind needs at least one TARGET: \(Target.acceptedForms)") }
    }

    mutating func execute(_ context: CommandContext) throws {
        // Validate everything before touching anything.
        let parsed = targets
        try BindPlanner.validate(driver: driver)
        let request = BindRequest(targets: parsed, driver: driver, wholeGroup: group, force: force)
        if !mutation.dryRun {
            try Privilege.requireRoot(for: "bind", root: context.root, effectiveUID: context.services.effectiveUID)
        }
        let lock = try mutation.acquireLock(context)
        defer { lock?.release() }

        // The snapshot is read under the lock, so no other vfioctl changes it before we act.
        let inventory = try InventoryReader(root: context.root, database: nil, fields: .forChanges).read()
        let environment = BindEnvironment.read(root: context.root)
        let affected = try BindPlanner.affectedDevices(request, inventory: inventory)
        let uses = InUseDetector(root: context.root).uses(of: affected)

        let plan: BindPlan
        switch try BindPlanner.plan(request, inventory: inventory, environment: environment, uses: uses) {
        case .refused(let refusal):
            reportRefusal(refusal, context)
            throw ExitStatus(code: VFIOError.refused("").exitCode)
        case .plan(let p):
            plan = p
        }
        if !context.options.quiet && !context.options.json {
            for warning in plan.warnings { context.console.error("vfioctl: warning: " + warning) }
            for note in plan.notes { context.console.error("vfioctl: note: " + note) }
        }

        if mutation.dryRun {
            if context.options.json {
                context.console.emitJSON(BindDocument(plan: plan, inventory: inventory, root: context.root, dryRun: true, changed: false))
            } else if !context.options.quiet {
                context.console.write(BindRendering.dryRun(plan, root: context.root))
            }
            return
        }

        let verbose = context.options.verbose && !context.options.json
        let console = context.console
        let root = context.root
        var onEvent: (@Sendable (ExecutorEvent) -> Void)? = nil
        if verbose {
            onEvent = { event in BindRendering.verbose(event, root: root, console: console) }
        }
        let executor = Executor(
            root: context.root, kernel: context.services.kernel(context.root), options: context.services.executorOptions, onEvent: onEvent)
        let report = try BindOperation(root: context.root, executor: executor).execute(plan)
        for warning in report.warnings { context.console.error("vfioctl: warning: " + warning) }
        if context.options.json {
            context.console.emitJSON(BindDocument(plan: plan, inventory: inventory, root: context.root, dryRun: false, changed: !plan.isNoOp))
        } else if !context.options.quiet {
            context.console.write(BindRendering.done(plan, inventory: inventory))
        }
    }

    func reportRefusal(_ refusal: BindRefusal, _ context: CommandContext) {
        for reason in refusal.reasons {
            context.console.error("vfioctl: refused: " + reason.line)
        }
        context.console.error("vfioctl: nothing was changed")
        if context.options.json {
            context.console.emitJSON(RefusalDocument(refusal))
        }
    }
}

// MARK: - Text

enum BindRendering {
    static func dryRun(_ plan: BindPlan, root: HostRoot) -> String {
        var out = "# vfioctl bind --dry-run: nothing was changed. The writes a bind would make, in order:\n"
        if plan.isNoOp {
            out += "# nothing to do: " + alreadyBoundText(plan) + "\n"
            return out
        }
        out += "# (first: take \(HostLock.hostPath), record the original drivers in \(StateStore.hostPath))\n"
        for step in plan.steps {
            out += step.shellLine(root: root) + "\n"
        }
        return out
    }

    static func alreadyBoundText(_ plan: BindPlan) -> String {
        let bound = plan.kept.filter { $0.reason == .alreadyBound }.map(\.address.description)
        if bound.isEmpty { return "no device needs to move" }
        return bound.joined(separator: ", ") + (bound.count == 1 ? " is" : " are") + " already bound to " + plan.request.driver
    }

    static func done(_ plan: BindPlan, inventory: HostInventory) -> String {
        var out = ""
        if plan.isNoOp { return alreadyBoundText(plan) + "\n" }
        for move in plan.moves {
            var line = "bound " + move.address.description + " to " + move.to.driver! + " (was " + (move.from.driver ?? "unbound")
            if move.reason == .groupPeer { line += "; moved with its group" }
            out += line + ")\n"
        }
        for kept in plan.kept where kept.reason == .alreadyBound {
            out += kept.address.description + " was already bound to " + plan.request.driver + "\n"
        }
        for id in plan.groups {
            if groupViableAfter(id, plan: plan, inventory: inventory) {
                out += "group \(id) is viable: /dev/vfio/\(id)\n"
            }
        }
        return out
    }

    static func verbose(_ event: ExecutorEvent, root: HostRoot, console: Console) {
        switch event {
        case .performed(let step):
            console.error("+ " + step.shellLine(root: root))
        case .retrying(let write, let errno, let attempt):
            console.error("vfioctl: \(write.path): \(ErrnoName.name(errno)), retrying (\(attempt))")
        case .rollingBack(let address, let state):
            console.error("vfioctl: rolling back \(address) to \(state)")
        }
    }

    /// Whether group `id` is viable once the plan has run.
    static func groupViableAfter(_ id: Int, plan: BindPlan, inventory: HostInventory) -> Bool {
        guard let group = inventory.groups[id] else { return true }
        let moving = Set(plan.moves.map(\.address))
        return !inventory.members(of: group).contains { !moving.contains($0.address) && Viability.state(of: $0).blocks }
    }
}

// MARK: - JSON

struct BindDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    let command = "bind"
    let dryRun: Bool
    let changed: Bool
    let driver: String
    let loadModule: String?
    let devices: [DeviceEntry]
    let steps: [StepEntry]
    let groups: [GroupEntry]
    let forced: [UseEntry]
    let warnings: [String]
    let notes: [String]
    let stateFile = StateStore.hostPath

    struct DeviceEntry: Encodable {
        let address: String
        let group: Int?
        /// `bind` or `keep`.
        let action: String
        /// requested / group-peer, or why it is kept (already-bound, bridge, dma-managed, unbound, other-vfio-driver).
        let reason: String
        let fromDriver: String?
        let fromOverride: String?
        let toDriver: String?

        enum Keys: String, CodingKey { case address, group, action, reason, fromDriver, fromOverride, toDriver }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(address, forKey: .address)
            try c.encode(group, forKey: .group)
            try c.encode(action, forKey: .action)
            try c.encode(reason, forKey: .reason)
            try c.encode(fromDriver, forKey: .fromDriver)
            try c.encode(fromOverride, forKey: .fromOverride)
            try c.encode(toDriver, forKey: .toDriver)
        }
    }

    struct StepEntry: Encodable {
        /// `modprobe`, `write` or `verify`.
        let kind: String
        let path: String?
        let value: String?
        let address: String?
        let driver: String?
        let module: String?
        /// The equivalent shell line, with the root prefix applied.
        let shell: String

        enum Keys: String, CodingKey { case kind, path, value, address, driver, module, shell }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(path, forKey: .path)
            try c.encode(value, forKey: .value)
            try c.encode(address, forKey: .address)
            try c.encode(driver, forKey: .driver)
            try c.encode(module, forKey: .module)
            try c.encode(shell, forKey: .shell)
        }
    }

    struct GroupEntry: Encodable {
        let id: Int
        let viable: Bool
        let node: String
    }

    struct UseEntry: Encodable {
        let address: String
        let kind: String
        let what: String
        let remedy: String
    }

    init(plan: BindPlan, inventory: HostInventory, root: HostRoot, dryRun: Bool, changed: Bool) {
        self.dryRun = dryRun
        self.changed = changed
        driver = plan.request.driver
        loadModule = plan.loadModule
        var entries = plan.moves.map {
            DeviceEntry(
                address: $0.address.description, group: $0.group, action: "bind", reason: $0.reason.rawValue, fromDriver: $0.from.driver,
                fromOverride: $0.from.override, toDriver: $0.to.driver)
        }
        entries += plan.kept.map {
            DeviceEntry(
                address: $0.address.description, group: $0.group, action: "keep", reason: $0.reason.rawValue, fromDriver: $0.driver,
                fromOverride: inventory.device($0.address)?.driverOverride, toDriver: $0.driver)
        }
        devices = entries.sorted { $0.address < $1.address }
        steps = plan.steps.map { step in
            switch step {
            case .loadModule(let module):
                StepEntry(kind: "modprobe", path: nil, value: nil, address: nil, driver: nil, module: module, shell: step.shellLine(root: root))
            case .write(let write):
                StepEntry(kind: "write", path: write.path, value: write.value, address: nil, driver: nil, module: nil, shell: step.shellLine(root: root))
            case .verify(let address, let driver):
                StepEntry(kind: "verify", path: nil, value: nil, address: address.description, driver: driver, module: nil, shell: step.shellLine(root: root))
            }
        }
        groups = plan.groups.map { GroupEntry(id: $0, viable: BindRendering.groupViableAfter($0, plan: plan, inventory: inventory), node: "/dev/vfio/\($0)") }
        forced = plan.forced.map { UseEntry(address: $0.address.description, kind: $0.kind.rawValue, what: $0.what, remedy: $0.remedy) }
        warnings = plan.warnings
        notes = plan.notes
    }

    enum Keys: String, CodingKey {
        case schemaVersion, command, dryRun, changed, driver, loadModule, devices, steps, groups, forced, warnings, notes, stateFile
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(schemaVersion, forKey: .schemaVersion)
        try c.encode(command, forKey: .command)
        try c.encode(dryRun, forKey: .dryRun)
        try c.encode(changed, forKey: .changed)
        try c.encode(driver, forKey: .driver)
        try c.encode(loadModule, forKey: .loadModule)
        try c.encode(devices, forKey: .devices)
        try c.encode(steps, forKey: .steps)
        try c.encode(groups, forKey: .groups)
        try c.encode(forced, forKey: .forced)
        try c.encode(warnings, forKey: .warnings)
        try c.encode(notes, forKey: .notes)
        try c.encode(stateFile, forKey: .stateFile)
    }
}

/// A refusal as JSON: the usual error document plus every reason.
struct RefusalDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    let error: ErrorDocument.Body
    let refusals: [Entry]

    struct Entry: Encodable {
        let kind: String
        let address: String
        let group: Int?
        let driver: String?
        let use: String?
        let forceable: Bool?
        let message: String
        let remedy: String

        enum Keys: String, CodingKey { case kind, address, group, driver, use, forceable, message, remedy }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(kind, forKey: .kind)
            try c.encode(address, forKey: .address)
            try c.encode(group, forKey: .group)
            try c.encode(driver, forKey: .driver)
            try c.encode(use, forKey: .use)
            try c.encode(forceable, forKey: .forceable)
            try c.encode(message, forKey: .message)
            try c.encode(remedy, forKey: .remedy)
        }
    }

    init(_ refusal: BindRefusal) {
        let error = VFIOError.refused(refusal.reasons.first?.line ?? "refused")
        self.error = ErrorDocument.Body(code: error.exitCode, kind: error.kind, message: refusal.message)
        refusals = refusal.reasons.map {
            Entry(
                kind: $0.kind.rawValue, address: $0.address.description, group: $0.group, driver: $0.driver, use: $0.use?.kind.rawValue,
                forceable: $0.use?.forceable, message: $0.message, remedy: $0.remedy)
        }
    }
}
