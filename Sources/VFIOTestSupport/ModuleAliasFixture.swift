import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

extension FixtureHost {
    /// The kernel release fixtures name in `/proc/sys/kernel/osrelease`.
    public static let fixtureRelease = "6.12.0-fixture"

    /// `vfio_pci:` lines shaped as file2alias writes them for the override-only ID tables of
    /// vfio-pci (any device), mlx5_vfio_pci (ConnectX VFs), hisi_acc_vfio_pci (HiSilicon
    /// SEC/HPRE/ZIP VFs), virtio_vfio_pci (virtio-net) and nvgrace_gpu_vfio_pci (Grace Hopper),
    /// among ordinary `pci:` lines, which must be ignored.
    public static let realShapedAliases = """
        alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
        alias vfio_pci:v*d*sv*sd*bc*sc*i* vfio_pci
        alias vfio_pci:v000015B3d0000101Esv*sd*bc*sc*i* mlx5_vfio_pci
        alias vfio_pci:v000019E5d0000A256sv*sd*bc*sc*i* hisi_acc_vfio_pci
        alias vfio_pci:v000019E5d0000A259sv*sd*bc*sc*i* hisi_acc_vfio_pci
        alias vfio_pci:v000019E5d0000A251sv*sd*bc*sc*i* hisi_acc_vfio_pci
        alias vfio_pci:v00001AF4d00001041sv*sd*bc*sc*i* virtio_vfio_pci
        alias vfio_pci:v000010DEd00002342sv*sd*bc*sc*i* nvgrace_gpu_vfio_pci
        alias vfio_pci:v000010DEd00002345sv*sd*bc*sc*i* nvgrace_gpu_vfio_pci
        alias pci:v000015B3d0000101Esv*sd*bc*sc*i* mlx5_core

        """

    /// Writes `/proc/sys/kernel/osrelease` and that release's `modules.alias`.
    public func writeModulesAlias(_ text: String = FixtureHost.realShapedAliases) {
        write("/proc/sys/kernel/osrelease", Self.fixtureRelease + "\n")
        write("/lib/modules/" + Self.fixtureRelease + "/modules.alias", text)
    }
}
