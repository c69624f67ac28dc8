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
            if unlink(root.path(path)) == 0 {
                removed.append(path)
            } else if errno != ENOENT {
                throw .failed("cannot remove \(path): \(String(cString: strerror(errno)))")
            }
        }
        return removed
    }

    /// Whether the device has a rule file.
    public func exists(_ address: PCIAddress, persistent: Bool) -> Bool {
        Sysfs.exists(root.path(UdevRule.directory(persistent: persistent) + "/" + UdevRule.fileName(address)))
    }
}
