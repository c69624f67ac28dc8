/// A streaming JSON writer for the documents that hold thousands of objects (`list --json`).
///
/// It writes exactly what `JSONEncoder` with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`
/// writes (two-space indent, `"key" : value`, empty containers as `[`, blank line, `]`), so a
/// document's bytes do not depend on which path produced it; tests compare the two. Writing
/// straight into one byte buffer avoids the encoder's per-value boxes and per-object key sorting,
/// which made the encoder most of `list --json`'s user time. Keys must come in sorted (byte)
/// order; debug builds check that.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// One entry per open container: whether it has no element yet.
    private var empty: [Bool] = []
    #if DEBUG
    private var lastKey: [String] = []
    #endif

    /// Where the bytes go as the document grows: once `bytes` holds `chunk` bytes or more, the
    /// next array element hands them to `sink` and starts an empty buffer, so a document of
    /// thousands of devices never sits in memory whole. nil: everything stays in `bytes`.
    private let sink: (([UInt8]) -> Void)?
    private let chunk: Int

    init(capacity: Int = 0, chunk: Int = 1 << 16, sink: (([UInt8]) -> Void)? = nil) {
        self.sink = sink
        self.chunk = chunk
        bytes.reserveCapacity(sink == nil ? capacity : max(capacity, chunk + chunk / 4))
    }

    /// Hands what is left to the sink (the end of a document written with one).
    mutating func finish() {
        guard let sink, !bytes.isEmpty else { return }
        sink(bytes)
        bytes.removeAll(keepingCapacity: true)
    }

    // MARK: - Containers

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        bytes.append(bracket)
        bytes.append(UInt8(ascii: "\n"))
        empty.append(true)
        #if DEBUG
        lastKey.append("")
        #endif
    }

    private mutating func close(_ bracket: UInt8) {
        empty.removeLast()
        #if DEBUG
        lastKey.removeLast()
        #endif
        bytes.append(UInt8(ascii: "\n"))
        indent(empty.count)
        bytes.append(bracket)
    }

    /// Starts an element of the innermost container: separator and indentation.
    private mutating func element() {
        guard !empty.isEmpty else { return }
        if empty[empty.count - 1] {
            empty[empty.count - 1] = false
        } else {
            bytes.append(UInt8(ascii: ","))
            bytes.append(UInt8(ascii: "\n"))
        }
        indent(empty.count)
    }

    private mutating func indent(_ depth: Int) {
        bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: depth * 2))
    }

    /// Writes `"name" : ` in the innermost object; the value follows.
    mutating func key(_ name: StaticString) {
        #if DEBUG
        let text = name.description
        precondition(
            lastKey[lastKey.count - 1].utf8.lexicographicallyPrecedes(text.utf8) || lastKey[lastKey.count - 1].isEmpty,
            "JSON keys out of order: \(text) after \(lastKey[lastKey.count - 1])")
        lastKey[lastKey.count - 1] = text
        #endif
        element()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: " ")])
    }

    /// For array elements (no key).
    mutating func arrayElement() {
        if let sink, bytes.count >= chunk {
            sink(bytes)
            bytes.removeAll(keepingCapacity: true)
        }
        element()
    }

    // MARK: - Scalars

    mutating func null() { bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")]) }

    mutating func bool(_ value: Bool) {
        if value {
            bytes.append(contentsOf: [UInt8(ascii: "t"), UInt8(ascii: "r"), UInt8(ascii: "u"), UInt8(ascii: "e")])
        } else {
            bytes.append(contentsOf: [UInt8(ascii: "f"), UInt8(ascii: "a"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "e")])
        }
    }

    mutating func int<T: BinaryInteger>(_ value: T) {
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        // Almost every value (addresses, ids, names) needs no escape: copy its bytes at once.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            bytes.append(contentsOf: utf8)
            return true
        }
        if copied == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0a: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0d: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0c: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xf)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    // MARK: - Keyed conveniences (optional values are `null`, as `encode(Optional)` writes them)

    mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    mutating func field(_ name: StaticString, _ value: Bool?) {
        key(name)
        if let value { bool(value) } else { null() }
    }

    mutating func field<T: BinaryInteger>(_ name: StaticString, _ value: T?) {
        key(name)
        if let value { int(value) } else { null() }
    }

    mutating func field(_ name: StaticString, _ values: [String]?) {
        key(name)
        guard let values else { return null() }
        beginArray()
        for value in values {
            arrayElement()
            string(value)
        }
        endArray()
    }
}

/// A value that can write itself with `JSONWriter`; `Console.emitJSON` prefers this path.
protocol JSONStreamable {
    func write(to writer: inout JSONWriter)
}
