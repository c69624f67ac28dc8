/// The `[hooks]` section of `/etc/vfioctl.conf`: how `vfioctl hook` treats a VM's devices.
///
///     [hooks]
///     devices = unmanaged      # libvirt: only managed='no' hostdevs (default); or: all
///     timeout = 30s            # how long a release waits for QEMU to close the devices
public struct HookSettings: Sendable, Equatable {
    public enum Scope: String, Sendable, Equatable {
        /// libvirt hostdevs with `managed='no'` (libvirt moves the others itself).
        case unmanaged
        /// Every PCI hostdev of the domain.
        case all
    }

    public var scope: Scope
    /// The bound on the wait for QEMU to close every member's file descriptors. libvirt itself
    /// waits a fixed 5 s before rebinding; a QEMU tearing down a large guest can take longer.
    public var timeout: Duration

    public static let defaultTimeout: Duration = .seconds(30)

    public init(scope: Scope = .unmanaged, timeout: Duration = HookSettings.defaultTimeout) {
        self.scope = scope
        self.timeout = timeout
    }
}
