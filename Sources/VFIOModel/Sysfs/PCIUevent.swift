/// The identity lines of a PCI function's `uevent` file:
///
///     DRIVER=e1000e
///     PCI_CLASS=20000
///     PCI_ID=8086:10D3
///     PCI_SUBSYS_ID=8086:0000
///
/// The kernel prints these from the same `struct pci_dev` fields as the `class`, `vendor`,
/// `device`, `subsystem_vendor` and `subsystem_device` attributes, so one read can stand in for
/// five. `DRIVER=` is the bound driver's name, the last component of the `driver` link (both come
/// from `dev->driver`; no line when unbound). A line that is missing or malformed is nil, and the
/// reader falls back to the attribute.
public struct PCIUevent: Sendable, Equatable {
    public var vendor: UInt16?
    public var device: UInt16?
    public var subsystemVendor: UInt16?
    public var subsystemDevice: UInt16?
    public var classCode: UInt32?
    public var driver: String?

    public init(
        vendor: UInt16? = nil, device: UInt16? = nil, subsystemVendor: UInt16? = nil, subsystemDevice: UInt16? = nil, classCode: UInt32? = nil,
        driver: String? = nil
    ) {
        self.vendor = vendor
        self.device = device
        self.subsystemVendor = subsystemVendor
        self.subsystemDevice = subsystemDevice
        self.classCode = classCode
        self.driver = driver
    }

    /// Parses the lines in place (no copy of a line): a host has a `uevent` per function.
    public init<Text: Collection<UInt8>>(_ text: Text) {
        var start = text.startIndex
        while start < text.endIndex {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
            take(text[start..<end])
            start = end == text.endIndex ? end : text.index(after: end)
        }
    }

    private mutating func take<Line: Collection<UInt8>>(_ line: Line) {
        guard let eq = line.firstIndex(of: UInt8(ascii: "=")) else { return }
        let key = line[..<eq]
        let value = line[line.index(after: eq)...]
        if Self.equals(key, "PCI_ID") {
            if let (a, b) = Self.pair(value) { (vendor, device) = (a, b) }
        } else if Self.equals(key, "PCI_SUBSYS_ID") {
            if let (a, b) = Self.pair(value) { (subsystemVendor, subsystemDevice) = (a, b) }
        } else if Self.equals(key, "PCI_CLASS") {
            classCode = Self.hex(value, maxDigits: 8)
        } else if Self.equals(key, "DRIVER") {
            // A driver name is one path component; anything else is left to the link.
            if !value.isEmpty, !value.contains(UInt8(ascii: "/")) { driver = String(decoding: value, as: UTF8.self) }
        }
    }

    /// Whether `bytes` are the literal's: lengths first, then bytes (a generic `elementsEqual`
    /// against a `String.UTF8View` cost more than the rest of the parse).
    static func equals<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ literal: StaticString) -> Bool {
        guard bytes.count == literal.utf8CodeUnitCount else { return false }
        return literal.withUTF8Buffer { zip(bytes, $0).allSatisfy { $0 == $1 } }
    }

    /// `VVVV:DDDD`
    static func pair<Value: Collection<UInt8>>(_ value: Value) -> (UInt16, UInt16)? {
        guard let colon = value.firstIndex(of: UInt8(ascii: ":")),
            let a = hex(value[..<colon], maxDigits: 4), let b = hex(value[value.index(after: colon)...], maxDigits: 4)
        else { return nil }
        return (UInt16(a), UInt16(b))
    }

    static func hex<Digits: Collection<UInt8>>(_ digits: Digits, maxDigits: Int) -> UInt32? {
        parseASCIIHex(digits, maxDigits: maxDigits)
    }
}
