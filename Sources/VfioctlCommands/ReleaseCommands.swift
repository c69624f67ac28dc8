import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

/// How the commands that give devices back wait for holders before writing.
struct ReleaseWaitOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp("Wait at most DURATION for holders to let go (default 30s). DURATION is \(DurationText.forms).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument = .holders

    @Flag(name: .long, help: "Do not wait: if anything holds the devices, exit 3 at once naming the holders.")
    var noWait = false

    func parsed() throws(VFIOError) -> ReleaseWait {
        ReleaseWait(timeout: timeout.duration, noWait: noWait)
    }
}

struct UnbindCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "unbind",
        abstract: "Give VFIO-bound devices back to the host once no process holds them",
        discussion: """
            Waits (bounded by --timeout) until no process holds the devices or their IOMMU group, re-checks, then \
            clears driver_override, unbinds the VFIO driver and binds the driver recorded at bind time (or --to \
            DRIVER; --to none leaves it unbound; without a record the kernel chooses through drivers_probe), \
            verifies the driver link and forgets the record. A held device is never unbound: the kernel's unbind \
            would sleep until the holder lets go, and skip the device reset.

            Group rule: a device that goes back to a host driver while another member of its IOMMU group is held \
            would be refused by the kernel (5.19+) or crash it (older), so the wait covers every VFIO-bound member \
            of the group. --group releases them all together. Releasing one member leaves the others unusable for \
            VFIO until the group is whole again; vfioctl warns.

            A device not on a VFIO driver is left alone (exit 0). A PF whose VFs are held is refused (exit 2): its \
            unbind would remove them and block.

            Exit status: 0 released or nothing to do, 1 failed and rolled back, 2 refused, 3 timed out (or held \
            with --no-wait), nothing changed, 4 failed without full rollback.

            Examples:
              vfioctl unbind 01:00.0
              vfioctl unbind --group group:12 --timeout 2m
              vfioctl unbind 01:00.0 --to none --no-wait
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @OptionGroup var wait: ReleaseWaitOptions

    @Option(name: .long, help: ArgumentHelp("Bind this host driver instead of the recorded one; 'none' leaves the devices unbound.", valueName: "DRIVER"))
    var to: String?

    @Flag(name: .long, help: "Release every VFIO-bound member of each device's IOMMU group, once the whole group is free.")
    var group = false

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        guard !targets.isEmpty else { throw VFIOError.usage("unbind needs at least one TARGET: \(Target.acceptedForms)") }
        let parsed = targets
        let request = ReleaseRequest(kind: .unbind, targets: parsed, destination: try ReleasePlanner.destination(to), wholeGroup: group)
        let wait = try self.wait.parsed()
        let renderer = Renderer(context)
        return renderer.render(try context.session(mutation, renderer: renderer).release(request, wait: wait))
    }
}

struct RestoreCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Return every device vfioctl moved to the driver it had before",
        discussion: """
            Reads /run/vfioctl/state.json and gives each recorded device back to its original driver and \
            driver_override, with the same waiting and group rules as unbind. Groups are restored independently: \
            one whose holders stay past --timeout is reported and the others are still restored. Records of \
            devices already back on their original driver, or gone from the bus, are dropped. --domain NAME \
            restores only the devices vfioctl hook bound for that VM (a libvirt domain name or a Proxmox VMID).

            Exit status: 0 when every device is restored (or was already), else the worst per-device result: \
            4 stranded after a failed rollback, 1 failed and rolled back, 2 refused, 3 timed out.

            Examples:
              vfioctl restore --dry-run
              vfioctl restore --timeout 2m --json
              vfioctl restore --domain win11
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: ReleaseWaitOptions

    @Option(name: .long, help: ArgumentHelp("Only the devices vfioctl hook bound for this VM (libvirt domain or Proxmox VMID).", valueName: "NAME"))
    var domain: String?

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        let wait = try self.wait.parsed()
        if let domain, domain.isEmpty { throw VFIOError.usage("--domain needs a name") }
        let renderer = Renderer(context)
        return renderer.render(try context.session(mutation, renderer: renderer).restore(wait: wait, domain: domain))
    }
}

struct CycleCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "cycle",
        abstract: "Unbind and re-bind VFIO devices to the same VFIO driver once they are free",
        discussion: """
            Makes the kernel re-read device state that vfio-pci caches across opens (for example a VF's MSI-X \
            vector count after sriov_vf_msix_count changed). Waits like unbind; then unbinds the VFIO driver and \
            probes it again with driver_override naming it, and verifies. The state file's record (the original \
            host driver) is kept as it is. A PF with VFs enabled is refused: its unbind would remove them.

            Exit status: 0 cycled, 1 failed and rolled back, 2 refused (not VFIO-bound, PF with VFs), 3 timed \
            out, 4 failed without full rollback.

            Examples:
              vfioctl cycle 04:00.1
              vfioctl cycle 04:00.1 --timeout 2m --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @OptionGroup var wait: ReleaseWaitOptions

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        guard !targets.isEmpty else { throw VFIOError.usage("cycle needs at least one TARGET: \(Target.acceptedForms)") }
        let parsed = targets
        let wait = try self.wait.parsed()
        let renderer = Renderer(context)
        return renderer.render(try context.session(mutation, renderer: renderer).cycle(parsed, wait: wait))
    }
}
