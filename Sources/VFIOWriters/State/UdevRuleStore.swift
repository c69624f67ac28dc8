import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Writes and removes vfioctl's own udev rule files (`UdevRule`) under the root prefix. Only
/// files named `70-vfioctl-<address>.rules` are ever touched.
public struct UdevRuleStore: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    /// Writes the rule atomically (mode 0644).
    public func write(_ rule: UdevRule) throws(VFIOError) {
        let directory = root.path(UdevRule.directory(persistent: rule.persistent))
        try AtomicFile.write(Array(rule.text.utf8), to: root.path(rule.path), directory: directory, mode: 0o644)
    }

    /// Removes the device's rules, the runtime and the persistent one (a missing file is fine).
    /// Returns the host paths removed.
    @discardableResult
    public func remove(_ address: PCIAddress, persistent: Bool? = nil) throws(VFIOError) -> [String] {
        var removed: [String] = []
        for kept in [false, true] where persistent == nil || persistent == kept {
            let path = UdevRule.directory(persistent: kept) + "/" + UdevRule.fileName(address)
            if let gone = try Self.unlinkIfPresent(root.path(path), shown: path) { removed.append(gone) }
        }
        return removed
    }

    /// Removes one file if it is there; returns `shown` when it was removed. The lstat comes
    /// first because unlink(2) checks for a read-only file system before it looks the name up:
    /// on a host whose /etc is mounted read-only, removing a rule that was never written
    /// fails with EROFS, not ENOENT. A missing file (or a missing or non-directory parent) is
    /// nothing to remove.
    static func unlinkIfPresent(_ hostPath: String, shown: String) throws(VFIOError) -> String? {
        var info = stat()
        guard lstat(hostPath, &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw .failed("cannot remove \(shown): \(String(cString: strerror(errno)))")
        }
        if unlink(hostPath) == 0 { return shown }
        if errno == ENOENT { return nil }
        throw .failed("cannot remove \(shown): \(String(cString: strerror(errno)))")
    }

    /// Whether the device has a rule file.
    public func exists(_ address: PCIAddress, persistent: Bool) -> Bool {
        Sysfs.exists(root.path(UdevRule.directory(persistent: persistent) + "/" + UdevRule.fileName(address)))
    }
}
