import SystemPackage

/// Symbolic errno names for messages (`EBUSY`), which strerror does not give.
public enum ErrnoName {
    /// EPROBE_DEFER (517) is kernel-internal; `bind` maps it to EAGAIN, but keep a name for it.
    static let eprobeDefer: Int32 = 517

    public static func name(_ errno: Errno) -> String {
        let names: [Errno: String] = [
            .notPermitted: "EPERM", .noSuchFileOrDirectory: "ENOENT", .interrupted: "EINTR", .ioError: "EIO",
            .noSuchAddressOrDevice: "ENXIO", .badFileDescriptor: "EBADF", .resourceTemporarilyUnavailable: "EAGAIN",
            .noMemory: "ENOMEM", .permissionDenied: "EACCES", .resourceBusy: "EBUSY", .fileExists: "EEXIST",
            .operationNotSupportedByDevice: "ENODEV", .notDirectory: "ENOTDIR", .isDirectory: "EISDIR", .invalidArgument: "EINVAL",
            .noSpace: "ENOSPC", .readOnlyFileSystem: "EROFS", .outOfRange: "ERANGE", .timedOut: "ETIMEDOUT",
            .inappropriateIOCTLForDevice: "ENOTTY", Errno(rawValue: eprobeDefer): "EPROBE_DEFER",
        ]
        return names[errno] ?? "errno " + String(errno.rawValue)
    }
}
