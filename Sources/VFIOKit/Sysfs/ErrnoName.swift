import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// Symbolic errno names for messages (`EBUSY`), which strerror does not give.
public enum ErrnoName {
    /// EPROBE_DEFER (517) is kernel-internal; `bind` maps it to EAGAIN, but keep a name for it.
    static let eprobeDefer: Int32 = 517

    public static func name(_ errno: Errno) -> String {
        let names: [Int32: String] = [
            EPERM: "EPERM", ENOENT: "ENOENT", EINTR: "EINTR", EIO: "EIO", ENXIO: "ENXIO", EBADF: "EBADF", EAGAIN: "EAGAIN",
            ENOMEM: "ENOMEM", EACCES: "EACCES", EBUSY: "EBUSY", EEXIST: "EEXIST", ENODEV: "ENODEV", ENOTDIR: "ENOTDIR",
            EISDIR: "EISDIR", EINVAL: "EINVAL", ENOSPC: "ENOSPC", EROFS: "EROFS", ERANGE: "ERANGE", ETIMEDOUT: "ETIMEDOUT",
            ENOTTY: "ENOTTY", eprobeDefer: "EPROBE_DEFER",
        ]
        return names[errno.rawValue] ?? "errno " + String(errno.rawValue)
    }
}
