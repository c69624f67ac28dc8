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
        let utf8 = Array(text.utf8)
        func hex(_ slice: ArraySlice<UInt8>) -> UInt32? { parseASCIIHex(slice, maxDigits: 8) }
        // Split at ':' and '.' positions exactly: [domain:]bus:dev.fn
        let colons = utf8.indices.filter { utf8[$0] == UInt8(ascii: ":") }
        guard let dot = utf8.lastIndex(of: UInt8(ascii: ".")), utf8.filter({ $0 == UInt8(ascii: ".") }).count == 1 else {
            return nil
        }
        let domainValue: UInt32
        let busRange: Range<Int>
        switch colons.count {
        case 1:
            domainValue = 0
            busRange = 0..<colons[0]
        case 2:
            guard colons[0] == 4, let d = hex(utf8[0..<colons[0]]) else { return nil }
            domainValue = d
            busRange = (colons[0] + 1)..<colons[1]
        default:
            return nil
        }
        let lastColon = colons[colons.count - 1]
        guard dot > lastColon, busRange.count == 2, dot - lastColon - 1 == 2, utf8.count - dot - 1 == 1,
            let busValue = hex(utf8[busRange]),
            let deviceValue = hex(utf8[(lastColon + 1)..<dot]),
            let functionValue = hex(utf8[(dot + 1)...]),
            deviceValue < 32, functionValue < 8
        else { return nil }
        self.init(domain: domainValue, bus: UInt8(busValue), device: UInt8(deviceValue), function: UInt8(functionValue))
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
@usableFromInline
func hexDigitCount(_ value: UInt32, width: Int) -> Int {
    var digits = 1
    var rest = value >> 4
    while rest != 0 {
        digits += 1
        rest >>= 4
    }
    return max(digits, width)
}

/// Writes `hexString(value, width:)` at `start`; returns the index after it.
@usableFromInline
func writeHex(_ value: UInt32, width: Int, into buffer: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
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
func parseASCIIHex(_ digits: ArraySlice<UInt8>, maxDigits: Int) -> UInt32? {
    guard !digits.isEmpty, digits.count <= maxDigits else { return nil }
    var value: UInt32 = 0
    for c in digits {
        let digit: UInt8
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
        default: return nil
        }
        value = value << 4 | UInt32(digit)
    }
    return value
}
