import ArgumentParser
import VFIOKit

struct DoctorCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the IOMMU, interrupt remapping, kernel command line and VFIO modules, each with a fix",
        discussion: """
            One finding per line: ok, warn or fail, what was found, and what to do about it. \
            Exit status 0 when nothing fails, 1 otherwise.
            """
    )

    @OptionGroup var global: GlobalOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let inventory = try? context.inventory()
        let facts = DoctorFactsReader(root: context.root).read(inventory: inventory)
        let findings = Doctor.diagnose(facts)
        let failed = findings.contains { $0.status == .fail }
        if context.options.json {
            context.console.emitJSON(DoctorDocument(ok: !failed, findings: findings))
        } else if !context.options.quiet {
            let width = findings.map(\.check.count).max() ?? 0
            for finding in findings {
                let status: String
                switch finding.status {
                case .ok: status = Paint.green("ok  ", context.color)
                case .warn: status = Paint.bold("warn", context.color)
                case .fail: status = Paint.red("FAIL", context.color)
                }
                var line = status + "  " + finding.check + String(repeating: " ", count: width - finding.check.count + 2) + finding.message
                if let fix = finding.fix { line += " — fix: " + fix }
                context.console.line(line)
            }
        }
        return failed ? .failed : .success
    }
}

struct DoctorDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    let ok: Bool
    let findings: [Finding]
}
