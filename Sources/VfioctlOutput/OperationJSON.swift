import VFIOModel

/// The parts the bind and release documents share: their steps and their refusal entries.
package struct StepEntry: Encodable {
    /// `modprobe`, `write`, `verify`, `chown`, `chmod` or `udev-reload`.
    package var kind: String
    @Nullable package var path: String?
    @Nullable package var value: String?
    @Nullable package var address: String?
    @Nullable package var driver: String?
    @Nullable package var module: String?
    /// The equivalent shell line, with the root prefix applied.
    package var shell: String

    package init(_ step: OperationStep, root: HostRoot) {
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
package struct RefusalEntry: Encodable {
    package var kind: String
    package var address: String
    @Nullable package var group: Int?
    @Nullable package var driver: String?
    /// bind: the host use that refused it, and whether `--force` would override it.
    @Nullable package var use: String?
    @Nullable package var forceable: Bool?
    package var message: String
    package var remedy: String

    package init(_ reason: BindRefusal.Reason) {
        kind = reason.kind.rawValue
        address = reason.address.description
        group = reason.group
        driver = reason.driver
        use = reason.use?.kind.rawValue
        forceable = reason.use?.forceable
        message = reason.message
        remedy = reason.remedy
    }

    package init(_ reason: ReleaseRefusal.Reason) {
        kind = reason.kind.rawValue
        address = reason.address.description
        group = reason.group
        driver = reason.driver
        message = reason.message
        remedy = reason.remedy
    }
}

/// A refusal as JSON: the usual error document plus every reason.
package struct RefusalDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var error: ErrorDocument.Body
    package var refusals: [RefusalEntry]

    package init(_ refusal: BindRefusal) {
        error = ErrorDocument.Body(refusalMessage: refusal.message)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }

    /// `bind --wait` gave up: the holders' reasons, under a time-out error.
    package init(_ refusal: BindRefusal, timeoutMessage: String) {
        error = ErrorDocument.Body(timeoutMessage: timeoutMessage)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }

    package init(_ refusal: ReleaseRefusal) {
        error = ErrorDocument.Body(refusalMessage: refusal.message)
        refusals = refusal.reasons.map(RefusalEntry.init)
    }
}
