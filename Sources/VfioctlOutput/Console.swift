import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Where a command's output goes: the process's stdout/stderr, or buffers in tests. Output is
/// buffered and written in large chunks, because `list` on thousands of functions is
/// dominated by write calls otherwise.
public final class Console: @unchecked Sendable {
    public private(set) var captured: String = ""
    public private(set) var capturedErrors: String = ""
    private var pending: [UInt8] = []
    private let capture: Bool
    public let isTerminal: Bool

    private init(capture: Bool, isTerminal: Bool) {
        self.capture = capture
        self.isTerminal = isTerminal
    }

    public static func standard() -> Console {
        let console = Console(capture: false, isTerminal: isatty(STDOUT_FILENO) == 1)
        console.statusEnabled = isatty(STDERR_FILENO) == 1
        return console
    }

    /// A console that keeps everything for inspection.
    public static func capturing(terminal: Bool = false) -> Console {
        let console = Console(capture: true, isTerminal: terminal)
        console.statusEnabled = terminal
        return console
    }

    // MARK: - Live status line

    /// Whether a transient status line can be drawn (standard error is a terminal).
    public private(set) var statusEnabled = false
    /// Every status line drawn, for tests.
    public private(set) var capturedStatus: [String] = []
    private var statusShown = false

    /// Redraws the one-line status on standard error; nothing when it is not a terminal.
    public func status(_ text: String) {
        guard statusEnabled else { return }
        if capture {
            capturedStatus.append(text)
            return
        }
        flush()
        let bytes = Array(("\r\u{1B}[K" + text).utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        statusShown = true
    }

    /// Erases the status line, before anything else is printed.
    public func clearStatus() {
        guard statusShown, !capture else { return }
        let bytes = Array("\r\u{1B}[K".utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        statusShown = false
    }

    public func write(_ text: String) {
        if capture {
            captured += text
            return
        }
        pending.append(contentsOf: text.utf8)
        if pending.count >= 1 << 16 { flush() }
    }

    /// Bytes that are already UTF-8 text (a JSON document), valid during the call.
    package func write(bytes: UnsafeRawBufferPointer) {
        if capture {
            captured += String(decoding: bytes, as: UTF8.self)
            return
        }
        // A large piece is written as it is, after what is pending: copying megabytes of JSON
        // into `pending` first cost `list --json` a copy and fresh pages for each one.
        if bytes.count >= 1 << 16 {
            flush()
            writeAll(bytes)
            return
        }
        pending.append(contentsOf: bytes)
        if pending.count >= 1 << 16 { flush() }
    }

    public func line(_ text: String = "") {
        write(text + "\n")
    }

    /// One line on standard error (flushes standard output first to keep the order).
    public func error(_ text: String) {
        if capture {
            capturedErrors += text + "\n"
            return
        }
        flush()
        let bytes = Array((text + "\n").utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    public func flush() {
        guard !capture, !pending.isEmpty else { return }
        pending.withUnsafeBytes { writeAll($0) }
        pending.removeAll(keepingCapacity: true)
    }

    private func writeAll(_ raw: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < raw.count {
            let n = Glibc.write(STDOUT_FILENO, raw.baseAddress! + offset, raw.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                break
            }
            offset += n
        }
    }
}
