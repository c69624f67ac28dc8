/// A PCI function address (`DDDD:BB:DD.F`), the kernel's name for a device under `/sys/bus/pci/devices`.
public struct PCIAddress: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    public let domain: UInt32
    public let bus: UInt8
    public let device: UInt8
    public let function: UInt8

    public init(domain: UInt32 = 0, bus: UInt8, device: UInt8, function: UInt8) {
        precondition(device < 32 && function < 8, "device must be < 32 and function < 8")
        self.domain = domain
        self.bus = bus
        self.device = device
        self.function = function
    }

    /// Parses `0000:01:00.0` or the short form `01:00.0` (domain 0000). Anything else is nil:
    /// the parser only accepts hex digits, `:` and `.`, so a parsed address is always a safe path
    /// component (no `/`, `..`, NUL or newline can survive it).
    public init?(_ text: some StringProtocol) {
        // The two shapes there are, `dddd:bb:dd.f` (12 bytes) and `bb:dd.f` (7), by position: an
        // inventory parses an address per function and per link, so no array is built.
        var storage: (UInt64, UInt64) = (0, 0)
        let parsed = withUnsafeMutableBytes(of: &storage) { b -> (UInt32, UInt32, UInt32, UInt32)? in
            var count = 0
            for byte in text.utf8 {
                guard count < 12 else { return nil }
                b[count] = byte
                count += 1
            }
            let offset: Int
            switch count {
            case 12: offset = 5
            case 7: offset = 0
            default: return nil
            }
            let colon = UInt8(ascii: ":")
            guard b[offset + 2] == colon, b[offset + 5] == UInt8(ascii: "."), offset == 0 || b[4] == colon else { return nil }
            func hex(_ range: Range<Int>) -> UInt32? { parseASCIIHex(UnsafeRawBufferPointer(rebasing: b[range]), maxDigits: 8) }
            guard let domain = offset == 0 ? 0 : hex(0..<4), let bus = hex(offset..<(offset + 2)),
                let device = hex((offset + 3)..<(offset + 5)), let function = hex((offset + 6)..<(offset + 7))
            else { return nil }
            return (domain, bus, device, function)
        }
        guard let (domain, bus, device, function) = parsed, device < 32, function < 8 else { return nil }
        self.init(domain: domain, bus: UInt8(bus), device: UInt8(device), function: UInt8(function))
    }

    /// The canonical form the kernel uses for directory names, e.g. `0000:01:00.0`.
    public var description: String {
        // Written into the string's own storage: `list --json` prints thousands of addresses, and
        // concatenating five pieces made this a few percent of its time.
        let domainDigits = hexDigitCount(domain, width: 4)
        let functionDigits = function < 10 ? 1 : String(function).utf8.count
        let count = domainDigits + 7 + functionDigits
        return String(unsafeUninitializedCapacity: count) { buffer in
            var at = writeHex(domain, width: 4, into: buffer, at: 0)
            buffer[at] = UInt8(ascii: ":")
            at = writeHex(UInt32(bus), width: 2, into: buffer, at: at + 1)
            buffer[at] = UInt8(ascii: ":")
            at = writeHex(UInt32(device), width: 2, into: buffer, at: at + 1)
            buffer[at] = UInt8(ascii: ".")
            var f = Int(function)
            for i in stride(from: count - 1, through: at + 1, by: -1) {
                buffer[i] = UInt8(ascii: "0") + UInt8(f % 10)
                f /= 10
            }
            return count
        }
    }

    public static func < (lhs: PCIAddress, rhs: PCIAddress) -> Bool {
        (lhs.domain, lhs.bus, lhs.device, lhs.function) < (rhs.domain, rhs.bus, rhs.device, rhs.function)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let parsed = PCIAddress(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad PCI address \(text)"))
        }
        self = parsed
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// Lower-case hex, zero-padded to `width` digits (no `String(format:)`, which drags in ICU).
@inlinable
public func hexString(_ value: UInt32, width: Int) -> String {
    let count = hexDigitCount(value, width: width)
    return String(unsafeUninitializedCapacity: count) { buffer in writeHex(value, width: width, into: buffer, at: 0) }
}

/// How many characters `hexString(value, width:)` has.
@inlinable
public func hexDigitCount(_ value: UInt32, width: Int) -> Int {
    var digits = 1
    var rest = value >> 4
    while rest != 0 {
        digits += 1
        rest >>= 4
    }
    return max(digits, width)
}

/// Writes `hexString(value, width:)` at `start`; returns the index after it.
@inlinable
public func writeHex(_ value: UInt32, width: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
    let end = start + hexDigitCount(value, width: width)
    var rest = value
    for i in stride(from: end - 1, through: start, by: -1) {
        let digit = UInt8(rest & 0xf)
        buffer[i] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") - 10 + digit
        rest >>= 4
    }
    return end
}

/// The value of 1…`maxDigits` ASCII hex digits (either case); nil for anything else. Shared by
/// the address parser and the `uevent` reader so both accept exactly the same digits.
func parseASCIIHex<Digits: Collection<UInt8>>(_ digits: Digits, maxDigits: Int) -> UInt32? {
    precondition(maxDigits <= 8, "a UInt32 holds 8 hex digits")
    return parseASCIIHex64(digits, maxDigits: maxDigits).map { UInt32($0) }
}

/// The same for up to 16 digits (`reserved_regions` addresses).
func parseASCIIHex64<Digits: Collection<UInt8>>(_ digits: Digits, maxDigits: Int) -> UInt64? {
    guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
    var value: UInt64 = 0
    for c in digits {
        let digit: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt64(digit)
    }
    return value
}
