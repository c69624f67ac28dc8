import VFIOModel
import VFIOParallel

/// A streaming JSON writer for the documents that hold thousands of objects (`list --json`).
///
/// It writes exactly what `JSONEncoder` with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`
/// writes (two-space indent, `"key" : value`, empty containers as `[`, blank line, `]`), so a
/// document's bytes do not depend on which path produced it; tests compare the two. Writing
/// straight into one byte buffer avoids the encoder's per-value boxes and per-object key sorting,
/// which made the encoder most of `list --json`'s user time. Keys must come in sorted (byte)
/// order; debug builds check that.
package struct JSONWriter {
    /// What has been written and not yet handed to the sink.
    package var bytes: [UInt8] { out.array }
    private let out = ByteBuffer()
    /// How many containers are open; bit `d` of `emptyAt` says the one at depth `d` has no
    /// element yet (a bit mask, not an array: an array is checked for uniqueness on each write).
    private var depth = 0
    private var emptyAt: UInt64 = 0
    #if DEBUG
    private var lastKey: [String] = []
    #endif

    /// Where the bytes go as the document grows, in order: once `bytes` holds `chunk` bytes or
    /// more, the next array element hands them to `sink` and starts an empty buffer, so a
    /// document of thousands of devices never sits in memory whole; a batch written by several
    /// threads goes to it buffer by buffer (`arrayElements`). The bytes are only valid during
    /// the call. nil: everything stays in `bytes`.
    private let sink: ((UnsafeRawBufferPointer) -> Void)?
    private let chunk: Int

    package init(capacity: Int = 0, chunk: Int = 1 << 16, sink: ((UnsafeRawBufferPointer) -> Void)? = nil) {
        self.sink = sink
        self.chunk = chunk
        out.reserve(sink == nil ? capacity : max(capacity, chunk + chunk / 4))
    }

    /// Hands what is left to the sink (the end of a document written with one).
    package mutating func finish() {
        guard let sink, out.count > 0 else { return }
        handOn(to: sink)
    }

    /// Gives what the buffer holds to the sink and empties it.
    private func handOn(to sink: (UnsafeRawBufferPointer) -> Void) {
        out.withBytes(sink)
        out.removeAll()
    }

    // MARK: - Containers

    mutating func beginObject() { open(UInt8(ascii: "{")) }
    package mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func beginArray() { open(UInt8(ascii: "[")) }
    package mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func open(_ bracket: UInt8) {
        out.append(bracket)
        out.append(UInt8(ascii: "\n"))
        depth += 1
        precondition(depth < 64, "JSON nested deeper than 63 containers")
        emptyAt |= 1 << UInt64(depth)
        #if DEBUG
        lastKey.append("")
        #endif
    }

    private mutating func close(_ bracket: UInt8) {
        emptyAt &= ~(1 << UInt64(depth))
        depth -= 1
        #if DEBUG
        lastKey.removeLast()
        #endif
        out.append(UInt8(ascii: "\n"))
        indent(depth)
        out.append(bracket)
    }

    /// Starts an element of the innermost container: separator and indentation.
    private mutating func element() {
        guard depth > 0 else { return }
        separator()
        indent(depth)
    }

    /// The `,` and newline before any element of the innermost container but its first.
    private mutating func separator() {
        if emptyAt & (1 << UInt64(depth)) != 0 {
            emptyAt &= ~(1 << UInt64(depth))
        } else {
            raw(",\n")
        }
    }

    private mutating func indent(_ depth: Int) {
        var left = depth * 2
        while left > 0 {
            let n = min(left, Self.spaces.utf8CodeUnitCount)
            out.append(UnsafeRawBufferPointer(start: Self.spaces.utf8Start, count: n))
            left -= n
        }
    }

    private static let spaces: StaticString = "                                                                "

    /// Appends literal bytes (string literals, whose bytes are in the binary). Array literals
    /// of bytes would be a heap array per call: with tens of calls per device, that was most
    /// of the writer's time.
    private mutating func raw(_ text: StaticString) {
        if text.hasPointerRepresentation {
            out.append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
        } else {
            text.withUTF8Buffer { out.append(UnsafeRawBufferPointer($0)) }
        }
    }

    /// Writes `"name" : ` in the innermost object; the value follows.
    package mutating func key(_ name: StaticString) {
        #if DEBUG
        let text = name.description
        precondition(
            lastKey[lastKey.count - 1].utf8.lexicographicallyPrecedes(text.utf8) || lastKey[lastKey.count - 1].isEmpty,
            "JSON keys out of order: \(text) after \(lastKey[lastKey.count - 1])")
        lastKey[lastKey.count - 1] = text
        #endif
        element()
        out.append(UInt8(ascii: "\""))
        raw(name)
        raw("\" : ")
    }

    /// For array elements (no key).
    package mutating func arrayElement() {
        if let sink, out.count >= chunk { handOn(to: sink) }
        element()
    }

    /// Writes `items` as elements of the innermost array, the same bytes as `arrayElement()`
    /// and `write(to:)` for each. With many items, batches of them are written by a few threads
    /// at once, each into a buffer of its own that is then appended in order: a device's object
    /// is ~150 appends, and on one core that was a third of `list --json`'s time after the read.
    /// A batch at a time, so the document still reaches the sink in chunks; with a sink, each
    /// buffer goes to it as it is (after what this writer holds), not copied into this one.
    package mutating func arrayElements<Element>(_ items: JSONElements<Element>, threads: Int? = nil, batch: Int = 512) {
        let threads = threads ?? Parallel.threads(for: items.count, minimumPerThread: batch)
        guard threads > 1 else {
            for i in 0..<items.count {
                arrayElement()
                items.element(i).write(to: &self)
            }
            return
        }
        // Each thread's buffer, kept across batches so it grows once.
        var parts = (0..<threads).map { _ in JSONWriter(fragmentAtDepth: depth) }
        var start = 0
        while start < items.count {
            let end = min(items.count, start + batch * threads)
            // All emptied here: a last batch smaller than `threads` leaves some slots untouched.
            // Slices are contiguous and only the last ones can be empty, so every part but the
            // first of a batch follows an element, and the first does when the array has one.
            let arrayHasElements = emptyAt & (1 << UInt64(depth)) == 0
            for t in parts.indices { parts[t].restartFragment(followingAnElement: arrayHasElements || t > 0) }
            parts.withUnsafeMutableBufferPointer { slots in
                Parallel.forEachSlice(end - start, threads: threads) { t, range in
                    for i in range {
                        slots[t].arrayElement()
                        items.element(start + i).write(to: &slots[t])
                    }
                }
            }
            for part in parts { splice(part) }
            start = end
        }
    }

    /// A writer for elements of a container `depth` levels down, which `splice` appends.
    private init(fragmentAtDepth depth: Int) {
        self.init()
        self.depth = depth
        emptyAt = 1 << UInt64(depth)
        #if DEBUG
        lastKey = Array(repeating: "", count: depth)
        #endif
    }

    /// Empties a fragment for the next batch. `followingAnElement`: its first element is not
    /// the container's first, so it writes the `,` separator itself, as `element()` would.
    private mutating func restartFragment(followingAnElement: Bool) {
        out.removeAll()
        emptyAt = followingAnElement ? 0 : 1 << UInt64(depth)
    }

    /// Appends a fragment's elements (separator included) to the innermost container: to the
    /// sink, after this writer's own bytes, or to this buffer.
    private mutating func splice(_ part: JSONWriter) {
        guard part.out.count > 0 else { return }
        emptyAt &= ~(1 << UInt64(depth))
        if let sink {
            if out.count > 0 { handOn(to: sink) }
            part.out.withBytes(sink)
        } else {
            out.append(part.out)
        }
    }

    // MARK: - Scalars

    package mutating func null() { raw("null") }

    package mutating func bool(_ value: Bool) {
        if value { raw("true") } else { raw("false") }
    }

    package mutating func int<T: BinaryInteger>(_ value: T) {
        // Decimal digits straight into the buffer (no String per number).
        guard let small = Int64(exactly: value) else { return out.append(contentsOf: String(value).utf8) }
        if small < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = small.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes, enough for 20 digits
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude != 0
            out.append(UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
        }
    }

    /// `"hhhh"`: `hexString(value, width:)` written in place.
    package mutating func hexString(_ value: UInt32, width: Int) {
        out.append(UInt8(ascii: "\""))
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: hexDigitCount(value, width: width)) { buffer in
            let end = writeHex(value, width: width, into: buffer, at: 0)
            out.append(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<end]))
        }
        out.append(UInt8(ascii: "\""))
    }

    package mutating func string(_ value: String) {
        out.append(UInt8(ascii: "\""))
        // Almost every value (addresses, ids, names) needs no escape: copy its bytes at once.
        let copied = value.utf8.withContiguousStorageIfAvailable { utf8 -> Bool in
            guard !utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return false }
            out.append(UnsafeRawBufferPointer(utf8))
            return true
        }
        if copied == true {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0a: raw("\\n")
            case 0x0d: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0c: raw("\\f")
            case 0x00..<0x20:
                let hex: StaticString = "0123456789abcdef"
                raw("\\u00")
                hex.withUTF8Buffer {
                    out.append($0[Int(byte >> 4)])
                    out.append($0[Int(byte & 0xf)])
                }
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    // MARK: - Keyed conveniences (optional values are `null`, as `encode(Optional)` writes them)

    package mutating func field(_ name: StaticString, _ value: String?) {
        key(name)
        if let value { string(value) } else { null() }
    }

    package mutating func field(_ name: StaticString, _ value: Bool?) {
        key(name)
        if let value { bool(value) } else { null() }
    }

    package mutating func field<T: BinaryInteger>(_ name: StaticString, _ value: T?) {
        key(name)
        if let value { int(value) } else { null() }
    }

    /// A hex string field (`"10de"`), or `null`.
    package mutating func hexField(_ name: StaticString, _ value: UInt32?, width: Int) {
        key(name)
        if let value { hexString(value, width: width) } else { null() }
    }

    package mutating func field(_ name: StaticString, _ values: [String]?) {
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
package protocol JSONStreamable {
    func write(to writer: inout JSONWriter)
}

/// A document's array whose elements are made when they are written (`element(i)`, on the
/// streaming writer's threads, so it must only read shared state), not built as one array of
/// thousands first. Encodes as the array of those elements.
package struct JSONElements<Element: Encodable & JSONStreamable>: Encodable {
    package let count: Int
    package let element: (Int) -> Element

    package init(count: Int, element: @escaping (Int) -> Element) {
        self.count = count
        self.element = element
    }

    package init(_ elements: [Element]) {
        self.init(count: elements.count) { elements[$0] }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        for i in 0..<count { try container.encode(element(i)) }
    }
}

/// The writer's growing bytes: appends are a bounds check and a copy, without `Array`'s
/// uniqueness and capacity bookkeeping per call (a device is ~150 appends).
private final class ByteBuffer {
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0

    package init() {
        capacity = 256
        base = .allocate(byteCount: capacity, alignment: 1)
    }

    deinit { base.deallocate() }

    package var array: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }

    package func withBytes(_ body: (UnsafeRawBufferPointer) -> Void) { body(UnsafeRawBufferPointer(start: base, count: count)) }

    package func reserve(_ wanted: Int) {
        guard wanted > capacity else { return }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: wanted, alignment: 1)
        grown.copyMemory(from: base, byteCount: count)
        base.deallocate()
        base = grown
        capacity = wanted
    }

    package func removeAll() { count = 0 }

    @inline(__always) package func append(_ byte: UInt8) {
        if count == capacity { reserve(capacity * 2) }
        base.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always) package func append(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
        if count + bytes.count > capacity { reserve(max(capacity * 2, count + bytes.count)) }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    package func append(_ other: ByteBuffer) {
        append(UnsafeRawBufferPointer(start: other.base, count: other.count))
    }

    package func append(contentsOf bytes: some Sequence<UInt8>) {
        for byte in bytes { append(byte) }
    }
}
