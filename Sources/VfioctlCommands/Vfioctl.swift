import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

/// The root command. `main.swift` calls `runAndExit()`, which maps every error to the exit code
/// documented in vfioctl(8) and prints it as one line.
public struct Vfioctl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "vfioctl",
        abstract: "Manage VFIO and IOMMU groups: list, inspect, bind and release PCI devices safely",
        discussion: """
            TARGET is a PCI address (0000:01:00.0 or 01:00.0), an IOMMU group (group:12) or vendor:device ids \
            (10de:2204, every matching function).

            Exit status: 0 done or nothing to do, 1 failed and rolled back, 2 refused by a safety check, \
            3 timed out waiting for holders, 4 failed without full rollback, 64 usage error, 69 unavailable, \
            77 permission denied. See vfioctl(8).
            """,
        version: vfioctlVersion,
        subcommands: [
            ListCommand.self, ShowCommand.self, DoctorCommand.self, BindCommand.self, UnbindCommand.self, HoldersCommand.self, WaitCommand.self,
            CycleCommand.self, RestoreCommand.self, ApplyCommand.self, HookCommand.self, CDICommand.self, SRIOVCommand.self,
        ]
    )

    public init() {}

    /// Parses `arguments`, runs the command against `environment`, and returns the exit status.
    /// Tests call this directly with a captured console.
    public static func run(arguments: [String], console: Console, environment: [String: String]) -> Int32 {
        run(arguments: arguments, console: console, environment: environment, services: nil)
    }

    /// The same, with the kernel seams replaced (tests pass a simulated kernel).
    public static func run(arguments: [String], console: Console, environment: [String: String], services: CommandServices?) -> Int32 {
        do {
            var command = try parseAsRoot(arguments)
            if var vfioctlCommand = command as? any VfioctlCommand {
                let context = try CommandContext(
                    options: vfioctlCommand.global, console: console, environment: environment, services: services)
                do {
                    return try vfioctlCommand.execute(context).rawValue
                } catch let error as VFIOError {
                    Renderer(context).fail(error)
                    return error.exitCode
                }
            }
            try command.run()
            return 0
        } catch let error as VFIOError {
            console.error(ErrorLine.line(error))
            if UsageErrors.wantsJSON(arguments) { console.emitErrorJSON(error) }
            return error.exitCode
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help, --version, completion scripts.
                let message = fullMessage(for: error)
                if !message.isEmpty { console.write(message + "\n") }
            } else {
                // Usage errors are one line; 'vfioctl help COMMAND' shows the usage.
                let usage = UsageErrors.usage(from: error, parserMessage: self.message(for: error))
                console.error(ErrorLine.line(usage))
                if code == .validationFailure, UsageErrors.wantsJSON(arguments) { console.emitErrorJSON(usage) }
            }
            return code.rawValue
        }
    }

    public static func runAndExit() -> Never {
        let arguments = Array(CommandLine.arguments.dropFirst())
        var environment: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        let console = Console.standard()
        let status = run(arguments: arguments, console: console, environment: environment)
        console.flush()
        Glibc.exit(status)
    }
}

public let vfioctlVersion = "0.1.0"
