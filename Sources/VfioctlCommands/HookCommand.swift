import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

struct HookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hook",
        abstract: "Prepare and give back a VM's devices when a VM manager starts and stops it",
        discussion: """
            Called by libvirt's qemu hook (/etc/libvirt/hooks/qemu.d/vfioctl) or a Proxmox VE hookscript. Before the \
            VM starts, its PCI devices and the rest of their IOMMU groups move to vfio-pci as one transaction, \
            each recorded as bound for the VM; a refusal fails the start. After it stops, the devices recorded \
            for the VM go back to their original drivers once QEMU has closed every file descriptor of every \
            member of their groups, waiting at most the [hooks] timeout of /etc/vfioctl.conf (default 30s). \
            What it did goes to the system log.
            """,
        subcommands: [LibvirtHookCommand.self, ProxmoxHookCommand.self]
    )
}

/// Options both hooks take.
struct HookOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("Wait at most DURATION for QEMU to close the devices (default: [hooks] timeout, else 30s).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Wait at most SECONDS for another vfioctl run to release /run/vfioctl/lock (default 60: longer than another VM's release waits by default).",
            valueName: "SECONDS"),
        transform: DurationArgument.lockTimeoutParser(atMost: 3600))
    var lockTimeout: DurationArgument = .hookLock

    /// `[hooks]` of /etc/vfioctl.conf under the root prefix, with --timeout over it.
    func settings(_ context: CommandContext) throws(VFIOError) -> HookSettings {
        var settings = try DesiredState.load(root: context.root).hooks ?? HookSettings()
        if let timeout { settings.timeout = timeout.duration }
        return settings
    }

    func session(_ context: CommandContext) -> HostSession {
        context.session(lockTimeout: lockTimeout.duration)
    }

    /// Runs one phase: logs what it did, or why not (a thrown error too, before it is printed).
    func run(_ context: CommandContext, prefix: String, _ body: () throws(VFIOError) -> HookOutcome) throws(VFIOError) -> ExitStatus {
        let log = Syslog(root: context.root, console: context.console)
        do throws(VFIOError) {
            return Renderer(context).renderHook(try body(), prefix: prefix, log: log)
        } catch {
            log.log(.error, prefix + error.message, fallback: false)
            throw VFIOError(error.kind, target: error.target, reason: prefix + error.reason, remedy: error.remedy)
        }
    }
}

struct LibvirtHookCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "libvirt",
        abstract: "libvirt's qemu hook: DOMAIN OPERATION SUB-OPERATION [EXTRA], the domain XML on standard input",
        discussion: """
            prepare begin: binds the domain's PCI <hostdev> devices with managed='no' (devices = all in [hooks]: \
            every PCI hostdev) and the rest of their groups to vfio-pci; refuses (exit 2, one line on standard \
            error) rather than start the domain half-prepared. release end: gives back the devices bound for the \
            domain, group by group, once no process holds any member. Every other operation exits 0 and prints \
            nothing. It never calls back into libvirt.

            Install: make install puts a wrapper at /etc/libvirt/hooks/qemu.d/vfioctl; restart libvirtd (or \
            virtqemud) once so it sees the new hook.

            Exit status: 0 done or nothing to do, 1 failed and rolled back, 2 refused, 3 timed out waiting for \
            QEMU (nothing changed), 4 failed without full rollback, 64 bad XML or configuration.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The domain's name.")
    var domain: String

    @Argument(help: "libvirt's operation (prepare, start, started, stopped, release, migrate, ...).")
    var operation: String

    @Argument(help: "libvirt's sub-operation (begin, end, ...).")
    var subOperation: String

    @Argument(help: "libvirt's extra argument (usually -).")
    var extra: String?

    @Option(name: .customLong("xml"), help: ArgumentHelp("Read the domain XML from FILE instead of standard input.", valueName: "FILE"))
    var xmlFile: String?

    @OptionGroup var hook: HookOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let domain = self.domain
        let prefix = "libvirt domain " + UntrustedText.printable(domain, limit: 200) + " " + operation + " " + subOperation + ": "
        switch (operation, subOperation) {
        case ("prepare", "begin"):
            let settings = try hook.settings(context)
            let xml = try LibvirtDomainXML.parse(try readXML())
            let session = hook.session(context)
            return try hook.run(context, prefix: prefix) { () throws(VFIOError) in
                try session.prepareVM(domain, devices: xml.devices(settings.scope))
            }
        case ("release", "end"):
            let settings = try hook.settings(context)
            let session = hook.session(context)
            return try hook.run(context, prefix: prefix) { () throws(VFIOError) in try session.releaseVM(domain, timeout: settings.timeout) }
        default:
            // libvirt reads the output of some operations (migrate, restore) as XML: say nothing.
            return .success
        }
    }

    func readXML() throws(VFIOError) -> String {
        try HostSession.hookInput(file: xmlFile)
    }
}

struct ProxmoxHookCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxmox",
        abstract: "A Proxmox VE hookscript: VMID PHASE",
        discussion: """
            pre-start: binds the devices of the VM's hostpciN lines (/etc/pve/qemu-server/VMID.conf, or --conf \
            FILE) and the rest of their groups to vfio-pci: ids like 0000:01:00 (every function of the slot), \
            01:00.0;02:00.0, host=..., and mapping=NAME (its one map line for this node in \
            /etc/pve/mapping/pci.cfg). post-stop: gives them back once QEMU has let go, as for libvirt. Other \
            phases exit 0.

            Install: copy proxmox-hookscript.sh from the doc directory (an executable 'exec /usr/sbin/vfioctl hook \
            proxmox "$@"') to /var/lib/vz/snippets/, then qm set VMID --hookscript local:snippets/proxmox-hookscript.sh.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The VM's id.")
    var vmid: String

    @Argument(help: "The phase (pre-start, post-start, pre-stop, post-stop).")
    var phase: String

    @Option(help: ArgumentHelp("The VM's configuration file (default /etc/pve/qemu-server/VMID.conf).", valueName: "FILE"))
    var conf: String?

    @OptionGroup var hook: HookOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        try ProxmoxGuest.validate(vmid: vmid)
        let vmid = self.vmid
        let prefix = "proxmox VM " + vmid + " " + phase + ": "
        switch phase {
        case "pre-start":
            _ = try hook.settings(context)
            let session = hook.session(context)
            let guest = try session.proxmoxGuest(vmid, conf: conf)
            return try hook.run(context, prefix: prefix) { () throws(VFIOError) in try session.prepareVM(proxmox: guest) }
        case "post-stop":
            let settings = try hook.settings(context)
            let session = hook.session(context)
            return try hook.run(context, prefix: prefix) { () throws(VFIOError) in try session.releaseVM(vmid, timeout: settings.timeout) }
        default:
            return .success
        }
    }
}
