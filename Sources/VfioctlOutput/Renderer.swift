import VFIOModel

/// The one place a command's outcome becomes output: a report on standard output and
/// messages on standard error (text), one JSON document (`--json`), or nothing but errors
/// (`-q`). Commands hand it the typed outcome of one VFIOKit service and return the exit status
/// it gives back; nothing else prints.
package struct Renderer: Sendable {
    package enum Mode: Sendable {
        case text, json, quiet
    }

    package let console: Console
    package let root: HostRoot
    package let mode: Mode
    package let verbose: Bool
    /// ANSI colour in text (a terminal, no --no-color, no NO_COLOR).
    package let color: Bool

    package init(console: Console, root: HostRoot, mode: Mode, verbose: Bool, color: Bool) {
        self.console = console
        self.root = root
        self.mode = mode
        self.verbose = verbose
        self.color = color
    }

    package var isText: Bool { mode == .text }

    // MARK: - Messages

    package func warning(_ text: String) {
        console.error("vfioctl: warning: " + text)
    }

    /// A failure: one line, and with `--json` the error document too.
    package func fail(_ error: VFIOError) {
        console.error(ErrorLine.line(error))
        if mode == .json { console.emitErrorJSON(error) }
    }

    /// A refusal before anything was written: every reason, one line each.
    package func refused(_ lines: [String], document: some Encodable) {
        for line in lines { console.error("vfioctl: refused: " + line) }
        console.error("vfioctl: nothing was changed")
        if mode == .json { console.emitJSON(document) }
    }

    // MARK: - Live output

    /// What a session reports while it runs: the lock wait (unless `-q`), the live status line
    /// while waiting for holders (text only), and each step with `-v`.
    package func sessionObserver() -> @Sendable (SessionEvent) -> Void {
        let status = StatusLine(console: console)
        let mode = self.mode
        let verbose = self.verbose && mode == .text
        let root = self.root
        let console = self.console
        return { event in
            switch event {
            case .waitingForLock(let holder):
                guard mode != .quiet else { return }
                let who = holder.map { "another vfioctl (pid \($0))" } ?? "another vfioctl"
                console.error("vfioctl: waiting for \(who) to release \(HostFiles.lock)…")
            case .waitingForHolders(let progress):
                if mode == .text { status.show(HolderRendering.progressLine(progress)) }
            case .waitEnded:
                console.clearStatus()
            case .step(let step):
                if verbose { BindRendering.verbose(step, root: root, console: console) }
            }
        }
    }
}

/// The transient status line, redrawn only when its text changes.
package final class StatusLine: @unchecked Sendable {
    private let console: Console
    private var shown = ""

    package init(console: Console) {
        self.console = console
    }

    package func show(_ line: String) {
        guard line != shown else { return }
        shown = line
        console.status(line)
    }
}

// MARK: - bind

extension Renderer {
    package func render(_ outcome: BindOutcome) -> ExitStatus {
        switch outcome.result {
        case .refused(let refusal):
            refused(refusal.reasons.map(\.line), document: RefusalDocument(refusal))
        case .gaveUp(let refusal, let report, let waited):
            let message = BindRendering.gaveUpMessage(refusal, report: report, waited: waited)
            console.error("vfioctl: " + message)
            if mode == .json { console.emitJSON(RefusalDocument(refusal, timeoutMessage: message)) }
        case .planned(let plan):
            planMessages(plan)
            attachMessages(plan, outcome)
            if mode == .json {
                console.emitJSON(
                    BindDocument(
                        plan: plan, inventory: outcome.inventory, root: root, dryRun: true, changed: false, attach: outcome.attach,
                        groupNodes: outcome.groupNodes))
            } else if isText {
                console.write(BindRendering.dryRun(plan, root: root))
            }
        case .bound(let plan, let report):
            planMessages(plan)
            for text in report.warnings { warning(text) }
            attachMessages(plan, outcome)
            if mode == .json {
                console.emitJSON(
                    BindDocument(
                        plan: plan, inventory: outcome.inventory, root: root, dryRun: false, changed: !plan.isNoOp || !report.ownedNodes.isEmpty,
                        report: report, attach: outcome.attach, groupNodes: outcome.groupNodes))
            } else if isText {
                console.write(
                    BindRendering.done(plan, report: report, inventory: outcome.inventory, groupNodes: outcome.groupNodes, attach: outcome.attach))
            }
        case .failed(let plan, let error):
            planMessages(plan)
            fail(error)
        }
        return outcome.exitStatus
    }

    /// Groups that end viable but that VFIO will refuse (or attach only unsafely) here.
    package func attachMessages(_ plan: BindPlan, _ outcome: BindOutcome) {
        guard isText else { return }
        for text in BindRendering.attachWarnings(plan, inventory: outcome.inventory, attach: outcome.attach) { warning(text) }
    }

    package func planMessages(_ plan: BindPlan) {
        guard isText else { return }
        for text in plan.warnings { warning(text) }
        for note in plan.notes { console.error("vfioctl: note: " + note) }
    }
}
