#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// One write to a kernel attribute: the exact bytes, to a host-absolute path such as
/// `/sys/bus/pci/devices/0000:01:00.0/driver_override`. The writer resolves the path under its
/// root prefix, so a plan is the same on a host and on a fixture.
public struct SysfsWrite: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Host-absolute path (without the root prefix).
    public var path: String
    /// The exact bytes written, normally with the trailing newline `echo` would add.
    public var value: String

    public init(_ value: String, to path: String) {
        self.path = path
        self.value = value
    }

    /// The equivalent shell line, e.g. `echo vfio-pci > /sys/bus/pci/devices/…/driver_override`.
    /// Values are driver names and PCI addresses, validated before a write is built, so they
    /// need no quoting; `"\n"` (the way to clear `driver_override`) is a bare `echo`.
    public func shellLine(root: HostRoot) -> String {
        let target = root.path(path)
        if value == "\n" { return "echo > " + target }
        if value.hasSuffix("\n") { return "echo " + value.dropLast() + " > " + target }
        return "printf %s " + value + " > " + target
    }

    public var description: String { shellLine(root: HostRoot()) }
}

/// A failed write, with the errno kept so callers can tell EBUSY from ENODEV from EACCES.
public struct SysfsWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    public var write: SysfsWrite
    public var errno: Errno?
    public var detail: String?

    public init(write: SysfsWrite, errno: Errno?, detail: String? = nil) {
        self.write = write
        self.errno = errno
        self.detail = detail
    }

    /// `cannot write 'vfio-pci' to /sys/…/driver_override: Device or resource busy (EBUSY)`
    public var description: String {
        var reason = detail ?? ""
        if let errno {
            let text = errno.description + " (" + ErrnoName.name(errno) + ")"
            reason = reason.isEmpty ? text : reason + ": " + text
        }
        let shown = write.value.hasSuffix("\n") ? String(write.value.dropLast()) : write.value
        return "cannot write '" + shown + "' to " + write.path + ": " + reason
    }
}

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

/// Writes sysfs attributes for real.
///
/// Kernel rules this follows (kernel-facts §2):
/// - open `O_WRONLY` **without `O_CREAT`**: a missing attribute fails with ENOENT, on a host as in
///   a fixture tree, instead of silently creating a plain file;
/// - **one** `write(2)` of the whole value: sysfs hands each write to the attribute's store
///   function separately, so a split write would be two stores;
/// - never a 0-byte write: the kernel ignores it (`sysfs_kf_write` returns 0), so it would look
///   like success while changing nothing;
/// - a short write is an error, because the store saw only part of the value.
public struct RealSysfsWriter: SysfsWriting {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func write(_ value: String, to path: String) throws(SysfsWriteError) {
        let write = SysfsWrite(value, to: path)
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else {
            throw SysfsWriteError(write: write, errno: nil, detail: "refusing a 0-byte write (the kernel ignores it)")
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(root.path(path)), .writeOnly, options: [.truncate, .closeOnExec])
        } catch {
            throw SysfsWriteError(write: write, errno: error as? Errno)
        }
        let result: Result<Int, Errno> = bytes.withUnsafeBytes { buffer in
            // EINTR means nothing was stored, so retrying it is still a single store.
            Result { () throws(Errno) -> Int in
                do { return try fd.write(buffer, retryOnInterrupt: true) } catch { throw error as? Errno ?? .ioError }
            }
        }
        // The store already happened (or failed) when write returns; a close error adds nothing.
        _ = try? fd.close()
        switch result {
        case .success(let count) where count == bytes.count:
            return
        case .success(let count):
            throw SysfsWriteError(write: write, errno: nil, detail: "short write (\(count) of \(bytes.count) bytes)")
        case .failure(let errno):
            throw SysfsWriteError(write: write, errno: errno)
        }
    }
}

/// Runs `modprobe MODULE`, but only on the real host: under any other root prefix there is no
/// kernel to load a module into, so it fails with a message saying what to do.
public struct RealModuleLoader: ModuleLoading {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func load(_ module: String) throws(VFIOError) {
        guard root.isHostRoot else {
            throw .unavailable("driver \(module) is not loaded under \(root.prefix) and modules can only be loaded on the running host (modprobe \(module))")
        }
        try DriverName.validate(module, from: "modprobe")
        let status = Subprocess.run(["modprobe", module])
        guard status == 0 else {
            throw .unavailable(
                "cannot load \(module): modprobe \(module) " + (status < 0 ? "could not be run" : "exited with status \(status)")
                    + " (is the module installed for this kernel?)")
        }
    }
}

/// Spawns a program and waits for it; the only place vfioctl runs another program.
enum Subprocess {
    /// Returns the exit status, or -1 when it could not be started.
    static func run(_ arguments: [String]) -> Int32 {
        // modprobe lives in /sbin or /usr/sbin, which a sudo or systemd PATH may lack.
        let env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
        var pid = pid_t()
        let cArgs = arguments.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        let spawned = posix_spawnp(&pid, arguments[0], nil, nil, cArgs, cEnv)
        guard spawned == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        // WIFEXITED / WEXITSTATUS, spelled out because the C macros are not imported.
        if status & 0x7f == 0 { return (status >> 8) & 0xff }
        return 128 + (status & 0x7f)
    }
}

/// Symbolic errno names for messages (`EBUSY`), which strerror does not give.
public enum ErrnoName {
    /// EPROBE_DEFER (517) is kernel-internal; `bind` maps it to EAGAIN, but keep a name for it.
    static let EPROBE_DEFER_USERSPACE: Int32 = 517

    public static func name(_ errno: Errno) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO", EBADF: "EBADF", EAGAIN: "EAGAIN",
            ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR",
            EISDIR: "EISDIR", EINVAL: "EINVAL", ENOSPC: "ENOSPC", EROFS: "EROFS", ERANGE: "ERANGE", ETIMEDOUT: "ETIMEDOUT",
            ENOTTY: "ENOTTY", EPROBE_DEFER_USERSPACE: "EPROBE_DEFER",
        ]
        return names[errno.rawValue] ?? "errno " + String(errno.rawValue)
    }
}
