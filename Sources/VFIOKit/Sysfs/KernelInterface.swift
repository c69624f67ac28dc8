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

/// The two kernel seams a mutating command needs.
public struct KernelInterface: Sendable {
    public var writer: any SysfsWriting
    public var modules: any ModuleLoading

    public init(writer: any SysfsWriting, modules: any ModuleLoading) {
        self.writer = writer
        self.modules = modules
    }

    /// The real kernel, reached through files under `root`.
    public static func real(root: HostRoot) -> KernelInterface {
        KernelInterface(writer: RealSysfsWriter(root: root), modules: RealModuleLoader(root: root))
    }
}
