/// Mutating commands need root on the real host; under any other root prefix (tests, a
/// chroot being prepared) they run as whoever runs them.
public enum Privilege {
    /// - Throws: `.permissionDenied` when `root` is `/` and `effectiveUID` is not 0.
    public static func requireRoot(for command: String, root: HostRoot, effectiveUID: UInt32) throws(VFIOError) {
        guard root.isHostRoot, effectiveUID != 0 else { return }
        throw .permissionDenied(
            "vfioctl \(command) needs root: it writes to /sys/bus/pci and \(HostFiles.state)", target: "vfioctl \(command)",
            remedy: "try sudo, or --dry-run")
    }
}
