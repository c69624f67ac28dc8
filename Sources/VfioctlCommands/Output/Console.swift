#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
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
        Console(capture: false, isTerminal: isatty(STDOUT_FILENO) == 1)
    }

    /// A console that keeps everything for inspection.
    public static func capturing(terminal: Bool = false) -> Console {
        Console(capture: true, isTerminal: terminal)
    }

    public func write(_ text: String) {
        if capture {
            captured += text
            return
        }
        pending.append(contentsOf: text.utf8)
        if pending.count >= 1 << 16 { flush() }
    }

    /// Bytes that are already UTF-8 text (a JSON document).
    func write(bytes: [UInt8]) {
        if capture {
            captured += String(decoding: bytes, as: UTF8.self)
            return
        }
        if pending.isEmpty && bytes.count >= 1 << 16 {
            pending = bytes
        } else {
            pending.append(contentsOf: bytes)
        }
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
        pending.withUnsafeBytes { raw in
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
        pending.removeAll(keepingCapacity: true)
    }
}
