import VFIOModel
import VFIOWriters

extension KernelInterface {
    /// The real kernel, reached through files under `root`: sysfs writes, `modprobe`, the owner and
    /// mode of VFIO nodes.
    public static func real(root: HostRoot) -> KernelInterface {
        KernelInterface(
            writer: RealSysfsWriter(root: root), modules: RealModuleLoader(root: root), nodes: RealNodeOwner(root: root), udev: RealUdevControl(root: root))
    }
}
