import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// The host-wide lock every mutating command holds: an exclusive `flock` on
/// `/run/vfioctl/lock` (under the root prefix). Concurrent vfioctl runs queue behind it instead
/// of interleaving their sysfs writes; a run that cannot get it within its timeout changes
/// nothing and exits 3.
///
/// `flock` belongs to the open file description, so the kernel drops it when the holder exits,
/// however it exits: a crashed run never leaves the host locked. The holder writes its pid into
/// the file so a waiter can say whom it is waiting for; the content is informational only.
public final class HostLock: @unchecked Sendable {
    public let path: String
    private var fd: Int32

    private init(path: String, fd: Int32) {
        self.path = path
        self.fd = fd
    }

    deinit { release() }

    public static let hostPath = HostFiles.lock

    /// Takes the lock, waiting up to `timeout`.
    /// - Parameters:
    ///   - onWait: called once, with the holder's pid if known, when the lock is busy.
    /// - Throws: `.timedOut` when the lock is still held after `timeout`; `.failed` when the
    ///   lock file cannot be opened.
    public static func acquire(
        root: HostRoot, timeout: Duration, pollInterval: Duration = .milliseconds(20), onWait: ((Int32?) -> Void)? = nil
    ) throws(VFIOError) -> HostLock {
        let directory = root.run
        try AtomicFile.makeDirectories(directory)
        let path = directory + "/lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw .failed("cannot open \(hostPath): \(String(cString: strerror(errno))); nothing was changed") }
        let deadline = ContinuousClock.now + timeout
        var reported = false
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            guard error == EWOULDBLOCK || error == EINTR else {
                close(fd)
                throw .failed("cannot lock \(hostPath): \(String(cString: strerror(error))); nothing was changed")
            }
            let holder = readHolder(fd)
            if !reported {
                reported = true
                onWait?(holder)
            }
            guard ContinuousClock.now < deadline else {
                close(fd)
                let who = holder.map { "another vfioctl (pid \($0))" } ?? "another vfioctl"
                throw .timedOut("\(who) holds \(hostPath); gave up after \(describe(timeout)) (--lock-timeout); nothing was changed", target: hostPath)
            }
            Executor.sleep(pollInterval)
        }
        // Informational: who holds it.
        let text = Array((String(getpid()) + "\n").utf8)
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return HostLock(path: path, fd: fd)
    }

    /// Drops the lock (also done when the value is released or the process exits).
    public func release() {
        guard fd >= 0 else { return }
        _ = ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    static func readHolder(_ fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 31, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<n], as: UTF8.self).trimmingSpaces)
    }

    static func describe(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let millis = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        if millis % 1000 == 0 { return String(millis / 1000) + " s" }
        return String(millis) + " ms"
    }
}
