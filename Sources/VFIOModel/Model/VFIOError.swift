/// Every failure vfioctl reports: what kind of failure it is (which decides the exit status),
/// what failed, why, and what to do about it.
public struct VFIOError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The kinds of failure, one per exit status of vfioctl(8).
    public enum Kind: String, Sendable, CaseIterable {
        /// A bad target or option.
        case usage
        /// The device, group, IOMMU or VFIO is not there.
        case unavailable
        /// A safety check refused the change; nothing was changed.
        case refused
        /// An operation failed and what was changed was rolled back.
        case failed
        /// Timed out waiting for holders; nothing was changed.
        case timedOut = "timeout"
        /// Failed and could not fully roll back.
        case rollbackFailed = "rollback-failed"
        /// Mutating commands need root.
        case permissionDenied = "permission-denied"

        public var exitStatus: ExitStatus {
            switch self {
            case .failed: .failed
            case .refused: .refused
            case .timedOut: .timedOut
            case .rollbackFailed: .rollbackFailed
            case .usage: .usage
            case .unavailable: .unavailable
            case .permissionDenied: .permissionDenied
            }
        }
    }

    public var kind: Kind
    /// What failed, when one thing did: a PCI address, a group, a file, an option, a command.
    public var target: String?
    /// Why, as one line (it already names the target where that reads better).
    public var reason: String
    /// What to do instead, when vfioctl knows.
    public var remedy: String?

    public init(_ kind: Kind, target: String? = nil, reason: String, remedy: String? = nil) {
        self.kind = kind
        self.target = target
        self.reason = reason
        self.remedy = remedy
    }

    public var exitStatus: ExitStatus { kind.exitStatus }
    public var exitCode: Int32 { exitStatus.rawValue }

    /// The one line vfioctl prints: the reason, then the remedy.
    public var message: String {
        guard let remedy, !remedy.isEmpty else { return reason }
        return reason + " (" + remedy + ")"
    }

    public var description: String { message }

    // MARK: - One constructor per kind

    public static func usage(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.usage, target: target, reason: reason, remedy: remedy)
    }

    public static func unavailable(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.unavailable, target: target, reason: reason, remedy: remedy)
    }

    public static func refused(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.refused, target: target, reason: reason, remedy: remedy)
    }

    public static func failed(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.failed, target: target, reason: reason, remedy: remedy)
    }

    public static func timedOut(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.timedOut, target: target, reason: reason, remedy: remedy)
    }

    public static func rollbackFailed(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.rollbackFailed, target: target, reason: reason, remedy: remedy)
    }

    public static func permissionDenied(_ reason: String, target: String? = nil, remedy: String? = nil) -> VFIOError {
        VFIOError(.permissionDenied, target: target, reason: reason, remedy: remedy)
    }
}
