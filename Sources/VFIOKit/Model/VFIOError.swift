/// Every failure vfioctl reports, each with the exit code documented in vfioctl(8).
public enum VFIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A bad target or option (exit 64).
    case usage(String)
    /// The device, group, IOMMU or VFIO is not there (exit 69).
    case unavailable(String)
    /// A safety check refused the change; nothing was changed (exit 2).
    case refused(String)
    /// An operation failed and what was changed was rolled back (exit 1).
    case failed(String)
    /// Timed out waiting for holders; nothing was changed (exit 3).
    case timedOut(String)
    /// Failed and could not fully roll back (exit 4).
    case rollbackFailed(String)
    /// Mutating commands need root (exit 77).
    case permissionDenied(String)

    public var exitCode: Int32 {
        switch self {
        case .failed: 1
        case .refused: 2
        case .timedOut: 3
        case .rollbackFailed: 4
        case .usage: 64
        case .unavailable: 69
        case .permissionDenied: 77
        }
    }

    public var message: String {
        switch self {
        case .usage(let m), .unavailable(let m), .refused(let m), .failed(let m), .timedOut(let m), .rollbackFailed(let m),
            .permissionDenied(let m):
            m
        }
    }

    public var description: String { message }
}
