import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Minimal, allocation-light reads of kernel pseudo-files. Sysfs attributes are small and are
/// read with one `read(2)`; a missing or unreadable attribute is `nil`, never an error, because
/// the kernel hides attributes that do not apply (e.g. `reset_method` when no reset exists).
public enum Sysfs {
    /// Reads a whole small file, trimming one trailing newline.
    public static func read(_ path: String) -> String? {
        guard let bytes = readBytes(path, limit: 65536) else { return nil }
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "\n") { end -= 1 }
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    /// Reads up to `limit` bytes of a file.
    public static func readBytes(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return readBytes(fd: fd, limit: limit)
    }

    /// Reads up to `limit` bytes from an open descriptor (a file, or standard input), until end
    /// of file; nil when the first read fails.
    public static func readBytes(fd: Int32, limit: Int) -> [UInt8]? {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 4096))
        while result.count < limit {
            let want = min(chunk.count, limit - result.count)
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, want) }
            if n < 0 {
                if errno == EINTR { continue }
                return result.isEmpty ? nil : result
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    /// Parses `0x8086`-style attributes.
    public static func readHex(_ path: String) -> UInt32? {
        guard let text = read(path) else { return nil }
        let digits = text.hasPrefix("0x") ? text.dropFirst(2) : Substring(text)
        return UInt32(digits, radix: 16)
    }

    public static func readInt(_ path: String) -> Int? {
        guard let text = read(path) else { return nil }
        return Int(text.trimmingSpaces)
    }

    /// The target of a symlink, or nil.
    public static func readLink(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The last component of a symlink's target (e.g. the driver name behind `driver`).
    public static func linkName(_ path: String) -> String? {
        guard let target = readLink(path) else { return nil }
        return lastComponent(target)
    }

    /// The last non-empty `/`-separated component of a path, or nil.
    static func lastComponent(_ path: String) -> String? {
        lastComponent(of: Substring(path)).map(String.init)
    }

    /// The same as a slice of `path`. On the UTF-8 view: a Character-wise scan cost more than
    /// the readlink it follows.
    static func lastComponent(of path: Substring) -> Substring? {
        let utf8 = path.utf8
        let slash = UInt8(ascii: "/")
        var end = utf8.endIndex
        while end > utf8.startIndex, utf8[utf8.index(before: end)] == slash { end = utf8.index(before: end) }
        let start = utf8[..<end].lastIndex(of: slash).map { utf8.index(after: $0) } ?? utf8.startIndex
        return start == end ? nil : path[start..<end]
    }

    /// Names in a directory, without `.` and `..`; nil when it is not a readable directory.
    public static func list(_ path: String) -> [String]? {
        guard let dir = opendir(path) else { return nil }
        defer { closedir(dir) }
        return entries(dir)
    }

    /// The names an open directory stream yields, without `.` and `..`.
    static func entries(_ dir: OpaquePointer) -> [String] {
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
