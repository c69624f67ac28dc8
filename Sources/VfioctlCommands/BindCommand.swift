import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct BindCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "bind",
        abstract: "Move devices to vfio-pci (or a VFIO variant driver), keeping their groups viable",
        discussion: """
            For each device: write the driver to driver_override, unbind the current driver, write the address to \
            drivers_probe, and verify the driver link (and vfio-dev/ and /dev/vfio/N). The original driver and \
            override are recorded in /run/vfioctl/state.json before the first write, so 'vfioctl unbind' can give \
            the device back. All devices of one run form one transaction: if any fails, every one is returned to \
            where it was.

            Refused (exit 2, nothing changed): a bind that would leave an IOMMU group with a member on a host DMA \
            driver (use --group to move them too), a bridge, and a device the host is using (a mounted or swap \
            block device, a configured network interface, the boot display or a framebuffer, an SR-IOV PF with VFs \
            enabled, a process holding one of its own nodes such as /dev/dri/card0) unless --force; with --wait, a \
            bind held only by processes waits (bounded by --timeout, exit 3 when it runs out) until they let go. The \
            root filesystem's device is refused even with --force.

            Examples:
              vfioctl bind 01:00.0 --dry-run
              vfioctl bind --group 01:00.0
              vfioctl bind group:12 --json
              vfioctl bind 15b3:101e --driver mlx5_vfio_pci
              vfioctl bind 41:00.1 --driver auto
              vfioctl bind 05:00.0 --owner dpdk:dpdk
              systemctl stop display-manager; vfioctl bind --group 01:00.0 --wait --timeout 20s
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: Target.argumentHelp, completion: .targets, transform: Target.argument)
    var targets: [Target] = []

    @Flag(name: .long, help: "Also move every other endpoint of each group that would keep it from being viable.")
    var group = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The VFIO driver to bind to (default vfio-pci); 'auto' takes the variant driver whose vfio_pci: alias in modules.alias matches best, else vfio-pci.",
            valueName: "NAME"))
    var driver: String = DriverName.vfioPCI

    @Flag(name: .long, help: "Bind even when the host is using the device (never for the root filesystem's device).")
    var force = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Once bound, give the group node /dev/vfio/N and the device's cdev to USER (mode 0600), or to USER and GROUP (0660); names or numeric ids. A udev rule under /run/udev/rules.d keeps it across rebinds.",
            valueName: "USER[:GROUP]"))
    var owner: String?

    @Flag(
        name: .long,
        help: "When host processes hold the devices' own nodes (a display server on /dev/dri/card0), wait for them to let go, then bind.")
    var wait = false

    @Option(
        name: .long, help: ArgumentHelp("With --wait: how long to wait (default 30s; 0 looks once).", valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument?

    @OptionGroup var mutation: MutationOptions

    func validate() throws {
        if targets.isEmpty { throw ValidationError("bind needs at least one TARGET: \(Target.acceptedForms)") }
        if timeout != nil && !wait { throw ValidationError("--timeout needs --wait") }
    }

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        // Validate everything before touching anything.
        let parsed = targets
        var ownerSpec: OwnerSpec?
        if let owner { ownerSpec = try OwnerSpec.parse(owner) }
        let holderTimeout = wait ? (timeout ?? .holders).duration : nil
        let request = BindRequest(targets: parsed, driver: driver, wholeGroup: group, force: force, owner: ownerSpec, holderTimeout: holderTimeout)
        let renderer = Renderer(context)
        let outcome = try context.session(mutation, renderer: renderer).bind(request)
        return renderer.render(outcome)
    }
}
