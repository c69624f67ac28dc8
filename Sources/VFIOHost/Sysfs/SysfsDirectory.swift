import CLinuxShim
import VFIOModel

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
        var names: [String] = []
        let listed = forEachEntry(name ?? ".") { entry, _ in names.append(String(decoding: entry, as: UTF8.self)) }
        return listed ? names : nil
    }

    /// Calls `body` with each entry's name bytes and `d_type` (`DT_LNK`, `DT_DIR`, ...) in the
    /// subdirectory `name` (one component or a relative path), without `.` and `..`; false when
    /// it is not a readable directory. See `SysfsDirectory.forEachEntry(fd:_:)`.
    @discardableResult
    public func forEachEntry(_ name: String, _ body: (UnsafeRawBufferPointer, UInt8) -> Void) -> Bool {
        let fd = openat(self.fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return Self.forEachEntry(fd: fd, body)
    }

    /// The entries of this directory itself, read from its own descriptor (once: the
    /// descriptor's position moves to the end).
    @discardableResult
    public func forEachOwnEntry(_ body: (UnsafeRawBufferPointer, UInt8) -> Void) -> Bool {
        Self.forEachEntry(fd: fd, body)
    }

    /// Room for one more `linux_dirent64` record of any name (19 header bytes + 255 + NUL,
    /// rounded up to 8).
    static let largestRecord = 280

    /// Reads an open directory with `getdents64` into a stack buffer.
    ///
    /// `opendir`/`readdir` would cost an `fcntl(F_GETFL)` per directory (glibc's `fdopendir`
    /// checks the descriptor) and, always, a last `getdents64` that returns 0. Neither is
    /// needed: kernfs (`kernfs_fop_readdir`), tmpfs, ext4 and 9p fill the caller's buffer until
    /// the listing ends or the next record does not fit, so a call that leaves room for the
    /// largest possible record has returned the whole rest of the directory.
    static func forEachEntry(fd: Int32, _ body: (UnsafeRawBufferPointer, UInt8) -> Void) -> Bool {
        let size = 16384
        return withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { buffer -> Bool in
            let base = buffer.baseAddress!
            var first = true
            while true {
                let n = vfioctl_getdents64(fd, base, UInt(size))
                if n < 0 {
                    if errno == EINTR { continue }
                    return !first
                }
                first = false
                if n == 0 { return true }
                var offset = 0
                while offset < n {
                    // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                    let record = base + offset
                    let length = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                    guard length > 19 else { return true }
                    let type = record.load(fromByteOffset: 18, as: UInt8.self)
                    let name = record + 19
                    let nameLength = strnlen(name.assumingMemoryBound(to: CChar.self), length - 19)
                    let bytes = UnsafeRawBufferPointer(start: name, count: nameLength)
                    let dots = (nameLength == 1 && bytes[0] == UInt8(ascii: ".")) || (nameLength == 2 && bytes[0] == UInt8(ascii: ".") && bytes[1] == UInt8(ascii: "."))
                    if !dots { body(bytes, type) }
                    offset += length
                }
                if size - n >= largestRecord { return true }
            }
        }
    }
}
