/// The seam between vfioctl and the kernel's sysfs attributes whose side effects matter
/// (`driver_override`, `unbind`, `drivers_probe`, `bind`). The real writer writes files under a
/// root prefix; tests use `SimulatedKernel`, which reacts as the kernel does.
public protocol SysfsWriting: Sendable {
    /// Writes `value` to the host-absolute `path` with a single write.
    /// - Throws: `SysfsWriteError` carrying the errno the kernel returned.
    func write(_ value: String, to path: String) throws(SysfsWriteError)
}

/// Loading kernel modules (`modprobe`). A separate seam so tests never run a real `modprobe`.
public protocol ModuleLoading: Sendable {
    /// Loads `module`.
    /// - Throws: `.unavailable` when it cannot be loaded.
    func load(_ module: String) throws(VFIOError)
}

/// Owner and mode of the device nodes the kernel makes for VFIO (`/dev/vfio/N`,
/// `/dev/vfio/devices/vfioX`), for `bind --owner`. A seam so fixture tests and the simulated
/// kernel see every change; paths are host-absolute.
public protocol NodeOwning: Sendable {
    /// `chown UID:GID PATH`, never following a symlink.
    func setOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SysfsWriteError)
    /// `chmod MODE PATH`.
    func setMode(_ path: String, mode: UInt32) throws(SysfsWriteError)
}

/// The kernel seams a mutating command needs.
public struct KernelInterface: Sendable {
    public var writer: any SysfsWriting
    public var modules: any ModuleLoading
    public var nodes: any NodeOwning
    public var udev: any UdevControlling

    public init(writer: any SysfsWriting, modules: any ModuleLoading, nodes: any NodeOwning, udev: any UdevControlling = NoUdevDaemon()) {
        self.writer = writer
        self.modules = modules
        self.nodes = nodes
        self.udev = udev
    }
}
