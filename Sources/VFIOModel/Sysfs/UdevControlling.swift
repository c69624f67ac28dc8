/// Telling the running udev daemon that its rule files changed. A seam so fixture tests see
/// that a reload was asked for, and never run `udevadm`.
public protocol UdevControlling: Sendable {
    /// `udevadm control --reload`.
    func reloadRules() throws(VFIOError)
}

/// No udev daemon to tell (the default of a `KernelInterface` built by hand).
public struct NoUdevDaemon: UdevControlling {
    public init() {}
    public func reloadRules() throws(VFIOError) {}
}
