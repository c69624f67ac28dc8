import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

/// Every --json document validates against the documented schema (schema/vfioctl.schema.json),
/// checked by an independent JSON Schema validator.
@Suite("JSON documents match schema/vfioctl.schema.json")
struct JSONSchemaTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    static let validatorAvailable =
        FileManager.default.fileExists(atPath: "/usr/bin/python3")
        && (try? runProcess("/usr/bin/python3", ["-c", "import jsonschema"])) != nil

    struct Case: Sendable, CustomTestStringConvertible {
        let args: [String]
        let definition: String
        var layout: FixtureLayout = .desktop
        var testDescription: String { args.joined(separator: " ") }
    }

    static let cases: [Case] = [
        Case(args: ["list", "--json"], definition: "listDocument"),
        Case(args: ["list", "--json"], definition: "listDocument", layout: .noIOMMU),
        Case(args: ["list", "--json", "--vfio"], definition: "listDocument"),
        Case(args: ["show", "01:00.0", "--json"], definition: "deviceShowDocument"),
        Case(args: ["show", "07:00.0", "--json"], definition: "deviceShowDocument"),
        Case(args: ["show", "07:02.1", "--json"], definition: "deviceShowDocument"),
        Case(args: ["show", "00:08.0", "--json"], definition: "deviceShowDocument"),
        Case(args: ["show", "02:00.0", "--json"], definition: "deviceShowDocument"),
        Case(args: ["show", "8086:1533", "--json"], definition: "multiShowDocument"),
        Case(args: ["show", "group:25", "--json"], definition: "groupShowDocument"),
        Case(args: ["doctor", "--json"], definition: "doctorDocument"),
        Case(args: ["doctor", "--json"], definition: "doctorDocument", layout: .noIOMMU),
        Case(args: ["bind", "05:00.0", "--owner", "65534:0", "--dry-run", "--json"], definition: "bindDocument"),
        Case(args: ["bind", "05:00.0", "--dry-run", "--json"], definition: "bindDocument"),
        Case(args: ["show", "../x", "--json"], definition: "errorDocument"),
        Case(args: ["show", "0000:7f:00.0", "--json"], definition: "errorDocument"),
    ]

    @Test("documents validate", .enabled(if: validatorAvailable), arguments: cases)
    func validates(_ testCase: Case) throws {
        let host = testCase.layout.build()
        let run = vfioctl(testCase.args, host: host)
        #expect(!run.stdout.isEmpty)
        let file = host.path + "/document.json"
        try run.stdout.write(toFile: file, atomically: false, encoding: .utf8)
        let output = try runProcess(
            "/usr/bin/python3", [Self.repository + "/schema/validate.py", Self.repository + "/schema/vfioctl.schema.json", testCase.definition, file],
            allowFailure: true)
        #expect(output.isEmpty, "\(output)")
        // And the schema's top-level oneOf picks exactly this shape.
        let any = try runProcess(
            "/usr/bin/python3", [Self.repository + "/schema/validate.py", Self.repository + "/schema/vfioctl.schema.json", "any", file],
            allowFailure: true)
        #expect(any.isEmpty, "\(any)")
    }

    @Test("the validator rejects a document that breaks the schema", .enabled(if: validatorAvailable))
    func rejects() throws {
        let host = FixtureLayout.desktop.build()
        var text = vfioctl(["list", "--json"], host: host).stdout
        text = text.replacingOccurrences(of: "\"schemaVersion\" : 1", with: "\"schemaVersion\" : 2")
        let file = host.path + "/bad.json"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let output = try runProcess(
            "/usr/bin/python3", [Self.repository + "/schema/validate.py", Self.repository + "/schema/vfioctl.schema.json", "listDocument", file],
            allowFailure: true)
        #expect(output.contains("schemaVersion"))
    }
}
