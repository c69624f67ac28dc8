import Foundation
import VFIOTestSupport
import VfioctlCommands
import VfioctlOutput

/// The result of running vfioctl in-process.
struct Run {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Parses standard output as a JSON object.
    func json() throws -> [String: Any] {
        guard let object = try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] else {
            throw RunError.notJSON(stdout)
        }
        return object
    }
}

enum RunError: Error { case notJSON(String) }

/// Runs `vfioctl ARGS --root HOST` against a fixture (the root is passed through the environment
/// unless `args` carries its own `--root`).
func vfioctl(_ args: [String], host: FixtureHost?, environment: [String: String] = [:]) -> Run {
    let console = Console.capturing()
    var env = environment
    if let host { env["VFIOCTL_ROOT"] = host.path }
    let services = host.map { CommandServices(deviceNumbers: $0.deviceNumbers) }
    let status = Vfioctl.run(arguments: args, console: console, environment: env, services: services)
    return Run(status: status, stdout: console.captured, stderr: console.capturedErrors)
}
