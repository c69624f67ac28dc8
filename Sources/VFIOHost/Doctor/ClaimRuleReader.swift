import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// The claim rule's age, for `doctor`.
public enum ClaimRuleReader {
    /// Whether the claim rule exists, and whether it was already there when this boot began
    /// (its mtime against `btime` in /proc/stat); nil when either is unknown.
    public static func ruleAge(root: HostRoot) -> (present: Bool, beforeBoot: Bool?) {
        var info = stat()
        guard lstat(root.path(ClaimFiles.rulePath), &info) == 0 else { return (false, nil) }
        let stat = Sysfs.readBytes(root.path("/proc/stat"), limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let boot = stat.split(separator: "\n").first { $0.hasPrefix("btime ") }.flatMap { Int($0.dropFirst(6).trimmingSpaces) }
        return (true, boot.map { Int(info.st_mtim.tv_sec) < $0 })
    }
}
