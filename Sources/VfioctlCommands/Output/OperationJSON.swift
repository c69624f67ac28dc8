import VFIOKit

/// The parts the bind and release documents share: their steps and their refusal entries.
struct StepEntry: Encodable {
    /// `modprobe`, `write`, `verify`, `chown`, `chmod` or `udev-reload`.
    var kind: String
    @Nullable var path: String?
    @Nullable var value: String?
    @Nullable var address: String?
    @Nullable var driver: String?
    @Nullable var module: String?
    /// The equivalent shell line, with the root prefix applied.
    var shell: String

    init(_ step: OperationStep, root: HostRoot) {
        shell = step.shellLine(root: root)
        switch step {
        case .loadModule(let module):
            kind = "modprobe"
            self.module = module
        case .write(let write):
            kind = "write"
            path = write.path
            value = write.value
        case .verify(let address, let driver):
            kind = "verify"
            self.address = address.description
            self.driver = driver
        case .setOwner(let path, let uid, let gid):
            kind = "chown"
            self.path = path
            value = "\(uid):\(gid)"
        case .setMode(let path, let mode):
            kind = "chmod"
            self.path = path
            value = NodeOwner.octal(mode)
        case .reloadUdevRules:
            kind = "udev-reload"
        }
    }
}

/// One reason a bind or a release was refused.
struct RefusalEntry: Encodable {
    var kind: String
    var address: String
    @Nullable var group: Int?
    @Nullable var driver: String?
    /// bind: the host use that refused it, and whether `--force` would override it.
    @Nullable var use: String?
    @Nullable var forceable: Bool?
    var message: String
    var remedy: String

    init(_ reason: BindRefusal.Reason) {
        kind = reason.kind.rawValue
        address = reason.address.description
        group = reason.group
        driver = reason.driver
        use = reason.use?.kind.rawValue
        forceable = reason.use?.forceable
        message = reason.message
        remedy = reason.remedy
    }

    init(_ reason: ReleaseRefusal.Reason) {
        kind = reason.kind.rawValue
        address = reason.address.description
        group = reason.group
        driver = reason.driver
        message = reason.message
        remedy = reason.remedy
    }
}

/// A refusal as JSON: the usual error document plus every reason.
struct RefusalDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var error: ErrorDocument.Body
    var refusals: [RefusalEntry]

    init(_ refusal: BindRefusal) {
        error = ErrorDocument.Body(refusalMessage: refusal.message)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }

    /// `bind --wait` gave up: the holders' reasons, under a time-out error.
    init(_ refusal: BindRefusal, timeoutMessage: String) {
        error = ErrorDocument.Body(timeoutMessage: timeoutMessage)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }

    init(_ refusal: ReleaseRefusal) {
        error = ErrorDocument.Body(refusalMessage: refusal.message)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }
}
