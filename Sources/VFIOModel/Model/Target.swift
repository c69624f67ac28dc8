/// What a command acts on: one function, a whole IOMMU group, or every function with given ids.
public enum Target: Hashable, Sendable, CustomStringConvertible {
    case address(PCIAddress)
    case group(Int)
    case ids(vendor: UInt16, device: UInt16)

    public static let acceptedForms = "0000:01:00.0, 01:00.0, group:N or vendor:device (e.g. 10de:2204)"

    /// Parses a target. Names are validated here, before any path is built from them.
    public init(parsing text: String) throws(VFIOError) {
        if text.hasPrefix("group:") {
            let number = text.dropFirst(6)
            guard !number.isEmpty, number.count <= 9, number.allSatisfy({ $0.isASCII && $0.isNumber }), let id = Int(number) else {
                throw .usage("invalid group '\(UntrustedText.printable(text))': expected group:N with N a group number", target: "TARGET")
            }
            self = .group(id)
            return
        }
        if let address = PCIAddress(text) {
            self = .address(address)
            return
        }
        // vendor:device — exactly four hex digits each side, so it can't be confused with bus:dev.fn.
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2, parts.allSatisfy({ $0.count == 4 && $0.allSatisfy(\.isHexDigit) }),
            let vendor = UInt16(parts[0], radix: 16), let device = UInt16(parts[1], radix: 16)
        {
            self = .ids(vendor: vendor, device: device)
            return
        }
        throw .usage("invalid target '\(UntrustedText.printable(text))': expected \(Self.acceptedForms)", target: "TARGET")
    }

    public var description: String {
        switch self {
        case .address(let address): address.description
        case .group(let id): "group:\(id)"
        case .ids(let vendor, let device): hexString(UInt32(vendor), width: 4) + ":" + hexString(UInt32(device), width: 4)
        }
    }

    /// `group:N`: the target names a whole group, whose members it takes selectively.
    public var isGroup: Bool {
        if case .group = self { return true }
        return false
    }
}
