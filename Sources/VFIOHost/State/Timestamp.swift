import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// The wall clock, read for the state file's times.
extension Timestamp {
    /// Now, as `2026-11-21T15:42:10Z`.
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return format(secondsSinceEpoch: Int64(ts.tv_sec))
    }
}
