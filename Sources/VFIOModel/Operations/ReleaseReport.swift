/// What happened to one device.
public enum ReleaseResult: Sendable, Equatable {
    /// Moved and verified; `driver` is where it is now.
    case done(driver: String?)
    /// Its transaction failed and it was returned to where it was.
    case rolledBack(String)
    /// Its transaction failed and it could not be returned; it is on `driver`.
    case stranded(driver: String?, message: String)
}

public struct ReleaseReport: Sendable, Equatable {
    public var results: [PCIAddress: ReleaseResult] = [:]
    /// One message per failed transaction (`bind failed: …; rolled back: …`).
    public var failures: [VFIOError] = []
    public var warnings: [String] = []

    public init() {}

    /// The worst failure: a stranded device (exit 4) over a rolled-back one (exit 1).
    public var error: VFIOError? {
        failures.first { $0.exitCode == 4 } ?? failures.first
    }
}
