/// One step of an operation. Writes are exact; the others are checks or actions the executor
/// performs around them.
public enum OperationStep: Sendable, Hashable {
    /// `modprobe MODULE` because `/sys/bus/pci/drivers/MODULE` is missing.
    case loadModule(String)
    case write(SysfsWrite)
    /// The device's `driver` link must name `driver` (nil: no driver). For a VFIO driver the
    /// executor also checks `vfio-dev/` and the group node, where the kernel makes them.
    case verify(PCIAddress, driver: String?)
    /// `chown UID:GID PATH` on a VFIO node (host-absolute path), through `NodeOwning`.
    case setOwner(path: String, uid: UInt32, gid: UInt32)
    /// `chmod MODE PATH` on a VFIO node.
    case setMode(path: String, mode: UInt32)
    /// `udevadm control --reload` after vfioctl wrote or removed a udev rule file, through
    /// `UdevControlling` (only planned while systemd-udevd runs).
    case reloadUdevRules

    /// The equivalent shell line; checks are comments, so a printed plan is still a script.
    public func shellLine(root: HostRoot) -> String {
        switch self {
        case .loadModule(let module):
            return "modprobe " + module
        case .write(let write):
            return write.shellLine(root: root)
        case .verify(let address, let driver):
            return "# verify: " + root.path(SysfsPaths.driverLink(address)) + " -> " + (driver ?? "(no driver)")
        case .setOwner(let path, let uid, let gid):
            return "chown \(uid):\(gid) " + root.path(path)
        case .setMode(let path, let mode):
            return "chmod " + NodeOwner.octal(mode) + " " + root.path(path)
        case .reloadUdevRules:
            return "udevadm control --reload"
        }
    }
}
