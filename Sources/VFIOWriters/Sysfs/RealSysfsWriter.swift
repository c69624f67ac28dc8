import SystemPackage
import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Writes sysfs attributes for real.
///
/// Kernel rules this follows (docs/kernel-notes.md, "Driver-binding writes in sysfs"):
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
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty else {
            throw SysfsWriteError(path: path, value: value, errno: nil, detail: "refusing a 0-byte write (the kernel ignores it)")
        }
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(root.path(path)), .writeOnly, options: [.truncate, .closeOnExec])
        } catch {
            throw SysfsWriteError(path: path, value: value, errno: error as? Errno)
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
            throw SysfsWriteError(path: path, value: value, errno: nil, detail: "short write (\(count) of \(bytes.count) bytes)")
        case .failure(let errno):
            throw SysfsWriteError(path: path, value: value, errno: errno)
        }
    }
}
