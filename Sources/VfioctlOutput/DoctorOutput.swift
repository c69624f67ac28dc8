import VFIOModel

/// `vfioctl doctor --json`.
package struct DoctorDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var ok: Bool
    package var findings: [Finding]
}

extension Renderer {
    /// One line per finding, each failure or warning with its fix; exit 1 if anything fails.
    package func render(_ findings: [Finding]) -> ExitStatus {
        let failed = findings.contains { $0.status == .fail }
        if mode == .json {
            console.emitJSON(DoctorDocument(ok: !failed, findings: findings))
        } else if isText {
            let width = findings.map(\.check.count).max() ?? 0
            for finding in findings {
                let status: String
                switch finding.status {
                case .ok: status = Paint.green("ok  ", color)
                case .warn: status = Paint.bold("warn", color)
                case .fail: status = Paint.red("FAIL", color)
                }
                var line = status + "  " + finding.check + String(repeating: " ", count: width - finding.check.count + 2) + finding.message
                if let fix = finding.fix { line += " — fix: " + fix }
                console.line(line)
            }
        }
        return failed ? .failed : .success
    }
}
