import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Log lines for the system log: one RFC 3164 datagram per line to `/dev/log` (under the root
/// prefix), which journald and the syslog daemons read. Without that socket (no logger
/// running, a test root) the lines go to standard error instead.
package struct Syslog {
    package enum Severity: Int32 {
        case error = 3
        case warning = 4
        case info = 6
    }

    /// `LOG_DAEMON`: hooks run on behalf of the VM manager's daemon.
    package static let facility: Int32 = 3
    package let socketPath: String
    package let console: Console

    package init(root: HostRoot, console: Console) {
        socketPath = root.path("/dev/log")
        self.console = console
    }

    /// Sends one line; falls back to standard error when the socket cannot take it.
    /// `fallback` false: nothing on standard error (the caller prints the error itself).
    package func log(_ severity: Severity, _ message: String, fallback: Bool = true) {
        let line =
            "<" + String(Self.facility * 8 + severity.rawValue) + ">" + Self.timestamp() + " vfioctl[" + String(getpid()) + "]: "
            + UntrustedText.printable(message, limit: 900)
        if send(Array(line.utf8)) { return }
        if fallback { console.error("vfioctl: " + message) }
    }

    package func send(_ bytes: [UInt8]) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array(socketPath.utf8)
        guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.enumerated() { raw[i] = byte }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let sent = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), socketAddress, length) }
            }
        }
        return sent == bytes.count
    }

    /// `Dec  1 12:05:09`, local time, as RFC 3164 writes it.
    package static func timestamp() -> String {
        var now = time(nil)
        var parts = tm()
        guard localtime_r(&now, &parts) != nil else { return "" }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0" + String(n) : String(n) }
        let day = parts.tm_mday < 10 ? " " + String(parts.tm_mday) : String(parts.tm_mday)
        return months[Int(parts.tm_mon)] + " " + day + " " + two(parts.tm_hour) + ":" + two(parts.tm_min) + ":" + two(parts.tm_sec)
    }
}
