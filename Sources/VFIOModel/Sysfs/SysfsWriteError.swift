import SystemPackage

/// A failed write to a kernel attribute, with the errno kept so callers can tell EBUSY from
/// ENODEV from EACCES.
public struct SysfsWriteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Host-absolute path of the attribute.
    public var path: String
    /// The bytes that were to be written.
    public var value: String
    public var errno: Errno?
    public var detail: String?

    public init(path: String, value: String, errno: Errno?, detail: String? = nil) {
        self.path = path
        self.value = value
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
        let shown = value.hasSuffix("\n") ? String(value.dropLast()) : value
        return "cannot write '" + shown + "' to " + path + ": " + reason
    }
}
