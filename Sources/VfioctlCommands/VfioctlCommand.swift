import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

/// A vfioctl subcommand: parses into a value, then runs against a context (root prefix,
/// console, environment), so tests drive commands without spawning processes.
protocol VfioctlCommand: ParsableCommand {
    var global: GlobalOptions { get }
    /// Runs the command and returns its exit status; a thrown `VFIOError` is printed by the
    /// caller and exits with its own status.
    mutating func execute(_ context: CommandContext) throws -> ExitStatus
}

extension VfioctlCommand {
    // ArgumentParser's entry point is not used (`Vfioctl.run(arguments:…)` dispatches), but a
    // direct `run()` still works, against the real host.
    mutating func run() throws {
        let context = try CommandContext(options: global, console: .standard(), environment: [:])
        let status = try execute(context)
        context.console.flush()
        if status != .success { throw ArgumentParser.ExitCode(status.rawValue) }
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON on standard output.")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing but errors.")
    var quiet = false

    @Flag(name: [.short, .long], help: "Explain more.")
    var verbose = false

    @Flag(name: .long, help: "Do not colour the output (also: NO_COLOR).")
    var noColor = false

    @Option(
        name: .long, help: ArgumentHelp("Read and write /sys, /proc, /dev, /run and /etc under DIR (also: VFIOCTL_ROOT).", valueName: "DIR"),
        completion: .directory)
    var root: String?
}

/// The outside world a command acts on (`HostSeams`: the real kernel unless a test says otherwise).
public typealias CommandServices = HostSeams

/// Everything a command needs from the outside world.
package struct CommandContext {
    let options: GlobalOptions
    let console: Console
    let root: HostRoot
    let environment: [String: String]
    let color: Bool
    let services: CommandServices

    init(options: GlobalOptions, console: Console, environment: [String: String], services: CommandServices? = nil) throws(VFIOError) {
        self.options = options
        self.console = console
        self.environment = environment
        self.services = services ?? CommandServices()
        self.root = try HostSession.root(options.root ?? environment["VFIOCTL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/")
        self.color = !options.noColor && !options.json && environment["NO_COLOR"].map(\.isEmpty) ?? true && console.isTerminal
    }
}

extension Renderer {
    /// The renderer for a command's options: `--json`, `-q` or text, `--verbose`, colour.
    init(_ context: CommandContext) {
        self.init(
            console: context.console, root: context.root, mode: context.options.json ? .json : context.options.quiet ? .quiet : .text,
            verbose: context.options.verbose, color: context.color)
    }
}
