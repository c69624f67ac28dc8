#if canImport(Glibc)
import Glibc
#endif

/// An open sysfs directory whose attributes are read with `openat`/`readlinkat`.
///
/// Reading `/sys/bus/pci/devices/BDF/vendor` by full path makes the kernel walk every component
/// and follow the `BDF` symlink into `/sys/devices/pci0000:00/…` again for each attribute; on a
/// host with thousands of functions that path walk is most of `list`'s time. Opening the device
/// directory once and reading attributes relative to it walks the path once per device.
///
/// Values are the same as `Sysfs`'s path-based reads give: missing or unreadable is `nil`.
public struct SysfsDirectory: ~Copyable {
    public let fd: Int32

    /// Opens a directory by path (following symlinks, as sysfs bus links need).
    public init?(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    /// Opens `name` (one component or a relative path) below this directory.
    public init?(_ name: String, in parent: borrowing SysfsDirectory) {
        let fd = openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit {
        close(fd)
    }

    /// Calls `body` with up to `limit` bytes of the attribute `name`, or nil when it cannot be
    /// opened or read. The bytes live on the stack only for the call.
    ///
    /// A sysfs attribute's whole value comes back from the first `read(2)` (the kernel renders
    /// it into one page), and a regular file (a fixture tree) returns a short count only at its
    /// end, so reading stops at the first short read instead of paying a second `read` for EOF.
    public func withBytes<R>(_ name: String, limit: Int = 4096, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let fd = openat(self.fd, name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return body(nil) }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(byteCount: limit, alignment: 1) { buffer -> R in
            var count = 0
            while count < limit {
                let n = Glibc.read(fd, buffer.baseAddress! + count, limit - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    if count == 0 { return body(nil) }
                    break
                }
                if n == 0 { break }
                let asked = limit - count
                count += n
                if n < asked { break }
            }
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
    }

    /// The attribute's text with trailing newlines trimmed, as `Sysfs.read` gives it.
    public func read(_ name: String) -> String? {
        withBytes(name) { bytes in
            guard let bytes else { return nil }
            var end = bytes.count
            while end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
        }
    }

    /// Parses `0x8086`-style attributes (as `Sysfs.readHex`).
    public func readHex(_ name: String) -> UInt32? {
        guard let text = read(name) else { return nil }
        let digits = text.hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
        return UInt32(digits, radix: 16)
    }

    /// Parses decimal attributes, surrounding blanks ignored (as `Sysfs.readInt`).
    public func readInt(_ name: String) -> Int? {
        guard let text = read(name) else { return nil }
        return Int(text.trimmingSpaces)
    }

    /// Up to `limit` bytes of a binary attribute (e.g. `config`).
    public func readBytes(_ name: String, limit: Int) -> [UInt8]? {
        withBytes(name, limit: limit) { $0.map { Array($0) } }
    }

    /// The target of the symlink `name`, or nil.
    public func readLink(_ name: String) -> String? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4096) { buffer -> String? in
            let n = readlinkat(fd, name, buffer.baseAddress!, buffer.count - 1)
            guard n > 0 else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress!, count: n), as: UTF8.self)
        }
    }

    /// The last component of a symlink's target (e.g. the driver name behind `driver`).
    public func linkName(_ name: String) -> String? {
        guard let target = readLink(name) else { return nil }
        return Sysfs.lastComponent(target)
    }

    /// Names in the subdirectory `name` (or in this directory when nil), without `.` and `..`;
    /// nil when it is not a readable directory.
    public func list(_ name: String? = nil) -> [String]? {
        let fd = openat(self.fd, name ?? ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard let dir = fdopendir(fd) else {
            close(fd)
            return nil
        }
        defer { closedir(dir) }
        return Sysfs.entries(dir)
    }
}
