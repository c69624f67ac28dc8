import Foundation
import Testing
import VFIOTestSupport

/// deploy/kubernetes/vfioctl-agent.yaml checked without a cluster by check-manifest.py.
@Suite("the Kubernetes DaemonSet manifest")
struct DeployManifestTests {
    static let repository = JSONSchemaTests.repository
    static let script = repository + "/deploy/kubernetes/check-manifest.py"
    static let manifest = repository + "/deploy/kubernetes/vfioctl-agent.yaml"
    static let yamlAvailable = (try? runProcess("/usr/bin/python3", ["-c", "import yaml"])) != nil
    /// The binary swift build made beside the tests, to parse the ConfigMap's desired state.
    static var binary: [String] {
        let path = repository + "/.build/debug/vfioctl"
        return FileManager.default.isExecutableFile(atPath: path) ? [path] : []
    }

    @Test("parses and is what the README promises", .enabled(if: yamlAvailable))
    func valid() throws {
        let output = try runProcess("/usr/bin/python3", [Self.script, Self.manifest] + Self.binary, allowFailure: true)
        #expect(output.isEmpty, "\(output)")
    }

    @Test(
        "the check catches a broken manifest", .enabled(if: yamlAvailable),
        arguments: [
            ("hostPID: true", "hostPID: false", "hostPID"), ("privileged: true", "privileged: false", "privileged"),
            ("path: /run/vfioctl", "path: /var/run/x", "/run/vfioctl"), ("10-gpu.conf:", "10-gpu:", ".conf"),
        ])
    func broken(from: String, to: String, expected: String) throws {
        let text = try String(contentsOfFile: Self.manifest, encoding: .utf8)
        #expect(text.contains(from))
        let file = NSTemporaryDirectory() + "vfioctl-manifest-\(getpid())-\(expected.count).yaml"
        defer { try? FileManager.default.removeItem(atPath: file) }
        try text.replacingOccurrences(of: from, with: to).write(toFile: file, atomically: false, encoding: .utf8)
        let output = try runProcess("/usr/bin/python3", [Self.script, file], allowFailure: true)
        #expect(output.contains(expected), "\(output)")
    }
}
