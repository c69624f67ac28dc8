import ArgumentParser
import VFIOKit

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

/// The outside world a mutating command acts on. Normally the real kernel under the root
/// prefix and the process's effective uid; tests substitute a simulated kernel.
public struct CommandServices: Sendable {
    /// Builds the kernel seams for a root prefix.
    public var kernel: @Sendable (HostRoot) -> KernelInterface
    public var effectiveUID: UInt32
    public var executorOptions: ExecutorOptions
    /// What the nodes holders have open stand for, for every holder scan and wait.
    public var deviceNumbers: DeviceNumbers

    public init(
        kernel: @escaping @Sendable (HostRoot) -> KernelInterface = { KernelInterface.real(root: $0) },
        effectiveUID: UInt32 = geteuid(), executorOptions: ExecutorOptions = ExecutorOptions(), deviceNumbers: DeviceNumbers = .real
    ) {
        self.kernel = kernel
        self.effectiveUID = effectiveUID
        self.executorOptions = executorOptions
        self.deviceNumbers = deviceNumbers
    }
}

/// Everything a command needs from the outside world.
struct CommandContext {
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
        let rootPath = options.root ?? environment["VFIOCTL_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        guard rootPath.hasPrefix("/"), !rootPath.contains("\0"), !rootPath.contains("\n") else {
            throw .usage("invalid root '\(rootPath)': expected an absolute directory path")
        }
        guard Sysfs.isDirectory(rootPath) else {
            throw .usage("invalid root '\(rootPath)': not a directory")
        }
        self.root = HostRoot(.init(rootPath))
        self.color = !options.noColor && !options.json && environment["NO_COLOR"].map(\.isEmpty) ?? true && console.isTerminal
    }

    /// libpci pointed at this root.
    func database() -> PCIDatabase? {
        PCIDatabase(root: root, idsFile: environment["VFIOCTL_PCI_IDS"])
    }

    /// The inventory with names from libpci.
    func inventory(database: PCIDatabase? = nil, fields: InventoryReader.Fields = .all) throws(VFIOError) -> HostInventory {
        try InventoryReader(root: root, database: database ?? self.database(), fields: fields).read()
    }
}
