import ArgumentParser
import VFIOKit
import VFIOModel
import VfioctlOutput

struct SRIOVCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "sriov",
        abstract: "Set how many VFs an SR-IOV PF has, with no host driver ever probing them, and bind them as one set",
        discussion: """
            Writes 0 to the PF's sriov_drivers_autoprobe first (so no host driver probes a new VF), then \
            sriov_numvfs (through 0 when the count changes from one non-zero count to another: the kernel \
            refuses that with EBUSY), and with --bind binds every VF to vfio-pci (or --driver) as one transaction \
            with rollback; if the bind fails the count is put back. The PF's first count and autoprobe are recorded \
            in /run/vfioctl/state.json before the first write; 'vfioctl restore' releases the VFs and puts both back.

            Changing the count removes every VF, and removing a held VF blocks the writer in the kernel exactly as a \
            held unbind does. So while a VF that would go is held, or on a VFIO driver, the change is refused \
            (exit 2, holders named); with --timeout vfioctl waits for them to be free (exit 3 when they stay, \
            nothing written). The same count again changes nothing (with --bind it binds the VFs not yet bound).

            Exit status: 0 done or nothing to do, 1 failed (put back), 2 refused (VFs held or on a VFIO driver, a \
            device without SR-IOV, a VF), 3 timed out, 4 failed and could not put back, 64 bad --vfs or option, \
            69 no such device, 77 not root.

            Examples:
              vfioctl sriov 04:00.0 --vfs 2 --bind --dry-run
              vfioctl sriov 04:00.0 --vfs 4 --bind --driver mlx5_vfio_pci
              vfioctl sriov 04:00.0 --vfs 0 --timeout 30s
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: ArgumentHelp("The PF's PCI address (0000:04:00.0 or 04:00.0).", valueName: "PF"))
    var pf: String

    @Option(name: .long, help: ArgumentHelp("The number of VFs the PF should have (0 removes them).", valueName: "N"))
    var vfs: Int

    @Flag(name: .long, help: "Bind every VF to vfio-pci (or --driver) once they exist.")
    var bind = false

    @Option(name: .long, help: ArgumentHelp("The VFIO driver to bind the VFs to with --bind (default vfio-pci; 'auto' as for bind).", valueName: "NAME"))
    var driver: String?

    @Option(
        help: ArgumentHelp(
            "Wait at most DURATION for VFs that would be removed to be free (default: do not wait, refuse). DURATION is \(DurationText.forms).",
            valueName: "DURATION"),
        transform: DurationArgument.parser(for: "--timeout"))
    var timeout: DurationArgument?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Give each VF N MSI-X vectors (sriov_vf_msix_count) before it is bound, where the PF's driver offers it.", valueName: "N"))
    var msix: Int?

    @OptionGroup var mutation: MutationOptions

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        guard let address = PCIAddress(pf) else {
            throw VFIOError.usage("PF '\(UntrustedText.printable(pf))' is not a PCI address (expected 0000:04:00.0 or 04:00.0)", target: "PF")
        }
        guard vfs >= 0 else { throw VFIOError.usage("--vfs must be 0 or more", target: "--vfs") }
        if driver != nil && !bind { throw VFIOError.usage("--driver needs --bind", target: "--driver") }
        let wait = timeout?.duration
        var request = SRIOVRequest(pf: address, numVFs: vfs, vfDriver: bind ? (driver ?? DriverName.vfioPCI) : nil, wait: wait)
        request.msix = msix
        let renderer = Renderer(context)
        return renderer.render(try context.session(mutation, renderer: renderer).sriov(request))
    }
}
