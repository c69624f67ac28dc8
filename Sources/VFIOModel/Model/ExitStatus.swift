/// vfioctl's exit statuses (vfioctl(8), EXIT STATUS). Errors map to them through
/// `VFIOError.Kind.exitStatus`, outcomes through their `exitStatus`; nothing else picks a number.
public enum ExitStatus: Int32, Sendable, Comparable, CaseIterable {
    /// Done, or nothing to do.
    case success = 0
    /// Failed, and what was changed was rolled back.
    case failed = 1
    /// Refused by a safety check; nothing was changed.
    case refused = 2
    /// Timed out waiting for holders; nothing was changed.
    case timedOut = 3
    /// Failed without a full rollback.
    case rollbackFailed = 4
    /// A usage error.
    case usage = 64
    /// No such device, no IOMMU, no VFIO.
    case unavailable = 69
    /// Needs root.
    case permissionDenied = 77

    /// How bad a per-device result is, for commands that report several (restore, apply): a
    /// device left stranded outweighs a rolled-back failure, which outweighs a refusal (it needs
    /// the user to act), which outweighs a time-out (a later run may succeed).
    public var severity: Int {
        switch self {
        case .success: 0
        case .timedOut: 1
        case .refused: 2
        case .failed: 3
        case .rollbackFailed: 4
        case .usage, .unavailable, .permissionDenied: 5
        }
    }

    public static func < (a: ExitStatus, b: ExitStatus) -> Bool { a.severity < b.severity }

    /// The worst of several results; success when there are none.
    public static func worst(_ statuses: some Sequence<ExitStatus>) -> ExitStatus {
        statuses.max() ?? .success
    }
}
