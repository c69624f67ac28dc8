/// The part of a libvirt domain XML the hook needs: its PCI host devices.
///
/// libvirt's qemu hook gets the domain XML on standard input (`prepare`, `start`, `release`
/// ...). A hostdev that libvirt does not manage (`managed='no'`) must already be on vfio-pci
/// when QEMU starts; one it manages (`managed='yes'`, libvirt's default when the attribute is
/// absent) libvirt moves itself.
///
///     <hostdev mode='subsystem' type='pci' managed='no'>
///       <source><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>
///       <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>
///     </hostdev>
///
/// Only `<source><address>` names the host device; the `<address>` directly under `<hostdev>`
/// is where the guest sees it.
public struct LibvirtDomainXML: Sendable, Equatable {
    public struct HostDevice: Sendable, Equatable {
        public var address: PCIAddress
        /// `managed='yes'` or no attribute (libvirt's default); `managed='no'`: the user's job.
        public var managed: Bool

        public init(address: PCIAddress, managed: Bool) {
            self.address = address
            self.managed = managed
        }
    }

    /// `<domain><name>`, when present.
    public var name: String?
    public var hostDevices: [HostDevice]

    /// Parses the subset of XML a domain definition uses: elements, attributes in ' or ",
    /// comments, processing instructions, CDATA, DOCTYPE, and the predefined and numeric
    /// character entities.
    /// - Throws: `.usage` for text that is not well-formed where it matters, or a PCI hostdev
    ///   whose source address is missing or out of range.
    public static func parse(_ text: String) throws(VFIOError) -> LibvirtDomainXML {
        var result = LibvirtDomainXML(name: nil, hostDevices: [])
        var stack: [String] = []
        // The hostdev being read: its managed flag and its source address once seen.
        var hostdev: (managed: Bool, address: PCIAddress?, depth: Int)?
        var nameText: String?
        for token in try XMLTokenizer.tokens(text) {
            switch token {
            case .start(let element, let attributes, let selfClosing):
                let depth = stack.count
                if element == "hostdev", hostdev == nil, attributes["mode"] == "subsystem", attributes["type"] == "pci" {
                    hostdev = (try managedFlag(attributes["managed"]), nil, depth)
                } else if element == "address", var current = hostdev, stack.last == "source", depth == current.depth + 2 {
                    guard current.address == nil else { throw .usage("domain XML: a PCI hostdev has two source addresses") }
                    current.address = try pciAddress(attributes)
                    hostdev = current
                }
                if element == "name", stack == ["domain"], !selfClosing { nameText = "" }
                if !selfClosing {
                    stack.append(element)
                } else if let current = hostdev, current.depth == depth {
                    throw .usage("domain XML: a PCI hostdev without <source><address>")
                }
            case .end(let element):
                guard stack.last == element else {
                    throw .usage("domain XML: </\(UntrustedText.printable(element))> does not close <\(UntrustedText.printable(stack.last ?? ""))>")
                }
                stack.removeLast()
                if let current = hostdev, current.depth == stack.count {
                    guard let address = current.address else { throw .usage("domain XML: a PCI hostdev without <source><address>") }
                    result.hostDevices.append(HostDevice(address: address, managed: current.managed))
                    hostdev = nil
                }
                if element == "name", stack == ["domain"], let name = nameText {
                    result.name = String(name.trimmingSpaces)
                    nameText = nil
                }
            case .text(let content):
                if nameText != nil { nameText! += content }
            }
        }
        guard stack.isEmpty else { throw .usage("domain XML ends inside <\(UntrustedText.printable(stack.last ?? ""))>") }
        return result
    }

    static func managedFlag(_ value: String?) throws(VFIOError) -> Bool {
        switch value {
        case nil, "yes": return true
        case "no": return false
        case let other?: throw .usage("domain XML: hostdev managed='\(UntrustedText.printable(other))' (expected yes or no)")
        }
    }

    /// `domain='0x0000' bus='0x01' slot='0x00' function='0x0'`: libvirt writes hex with 0x and
    /// also reads decimal; a missing domain is 0.
    static func pciAddress(_ attributes: [String: String]) throws(VFIOError) -> PCIAddress {
        func number(_ key: String, max: UInt32, required: Bool = true) throws(VFIOError) -> UInt32 {
            guard let text = attributes[key] else {
                if required { throw .usage("domain XML: hostdev source address without \(key)=") }
                return 0
            }
            let value: UInt32?
            if text.hasPrefix("0x") || text.hasPrefix("0X") {
                value = UInt32(text.dropFirst(2), radix: 16)
            } else {
                value = UInt32(text)
            }
            guard let value, value <= max else {
                throw .usage("domain XML: hostdev source address \(key)='\(UntrustedText.printable(text))' is not a number up to \(max)")
            }
            return value
        }
        let domain = try number("domain", max: 0xffff, required: false)
        let bus = try number("bus", max: 0xff)
        let slot = try number("slot", max: 31)
        let function = try number("function", max: 7)
        return PCIAddress(domain: domain, bus: UInt8(bus), device: UInt8(slot), function: UInt8(function))
    }

    /// The devices the hook binds: those libvirt leaves to the user, or all of them.
    public func devices(_ scope: HookSettings.Scope) -> [PCIAddress] {
        var seen = Set<PCIAddress>()
        return hostDevices.filter { scope == .all || !$0.managed }.map(\.address).filter { seen.insert($0).inserted }
    }
}

/// A small XML tokenizer for configuration documents: start and end tags with attributes,
/// and text. Comments, processing instructions, DOCTYPE are skipped; CDATA is text.
enum XMLTokenizer {
    enum Token: Equatable {
        case start(String, [String: String], selfClosing: Bool)
        case end(String)
        case text(String)
    }

    static func tokens(_ text: String) throws(VFIOError) -> [Token] {
        let bytes = Array(text.utf8)
        var tokens: [Token] = []
        var i = 0
        func starts(_ prefix: String, at index: Int) -> Bool {
            let p = Array(prefix.utf8)
            return index + p.count <= bytes.count && Array(bytes[index..<(index + p.count)]) == p
        }
        func find(_ needle: String, from index: Int) -> Int? {
            let n = Array(needle.utf8)
            var j = index
            while j + n.count <= bytes.count {
                if bytes[j] == n[0] && Array(bytes[j..<(j + n.count)]) == n { return j }
                j += 1
            }
            return nil
        }
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "<") else {
                let end = bytes[i...].firstIndex(of: UInt8(ascii: "<")) ?? bytes.count
                tokens.append(.text(try decodeEntities(String(decoding: bytes[i..<end], as: UTF8.self))))
                i = end
                continue
            }
            if starts("<!--", at: i) {
                guard let end = find("-->", from: i + 4) else { throw .usage("domain XML: unterminated comment") }
                i = end + 3
            } else if starts("<![CDATA[", at: i) {
                guard let end = find("]]>", from: i + 9) else { throw .usage("domain XML: unterminated CDATA") }
                tokens.append(.text(String(decoding: bytes[(i + 9)..<end], as: UTF8.self)))
                i = end + 3
            } else if starts("<?", at: i) {
                guard let end = find("?>", from: i + 2) else { throw .usage("domain XML: unterminated processing instruction") }
                i = end + 2
            } else if starts("<!", at: i) {
                guard let end = find(">", from: i + 2) else { throw .usage("domain XML: unterminated declaration") }
                i = end + 1
            } else {
                let (token, next) = try tag(bytes, from: i)
                tokens.append(token)
                i = next
            }
        }
        return tokens
    }

    static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d }

    static func isNameByte(_ byte: UInt8) -> Bool {
        !isSpace(byte) && byte != UInt8(ascii: "/") && byte != UInt8(ascii: ">") && byte != UInt8(ascii: "=")
            && byte != UInt8(ascii: "<") && byte != UInt8(ascii: "'") && byte != UInt8(ascii: "\"")
    }

    /// One tag starting at `start` (a `<`): its token and the index after its `>`.
    static func tag(_ bytes: [UInt8], from start: Int) throws(VFIOError) -> (Token, Int) {
        var i = start + 1
        let closing = i < bytes.count && bytes[i] == UInt8(ascii: "/")
        if closing { i += 1 }
        func name() -> String {
            let begin = i
            while i < bytes.count && isNameByte(bytes[i]) { i += 1 }
            return String(decoding: bytes[begin..<i], as: UTF8.self)
        }
        func skipSpace() { while i < bytes.count && isSpace(bytes[i]) { i += 1 } }
        let element = name()
        guard !element.isEmpty else { throw .usage("domain XML: a '<' that starts no tag") }
        if closing {
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: ">") else { throw .usage("domain XML: unterminated </\(UntrustedText.printable(element))>") }
            return (.end(element), i + 1)
        }
        var attributes: [String: String] = [:]
        while true {
            skipSpace()
            guard i < bytes.count else { throw .usage("domain XML: unterminated <\(UntrustedText.printable(element))>") }
            if bytes[i] == UInt8(ascii: ">") { return (.start(element, attributes, selfClosing: false), i + 1) }
            if bytes[i] == UInt8(ascii: "/") {
                guard i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") else { throw .usage("domain XML: stray '/' in <\(UntrustedText.printable(element))>") }
                return (.start(element, attributes, selfClosing: true), i + 2)
            }
            let key = name()
            guard !key.isEmpty else { throw .usage("domain XML: bad attribute in <\(UntrustedText.printable(element))>") }
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "=") else {
                throw .usage("domain XML: attribute \(UntrustedText.printable(key)) of <\(UntrustedText.printable(element))> has no value")
            }
            i += 1
            skipSpace()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "'") || bytes[i] == UInt8(ascii: "\"") else {
                throw .usage("domain XML: attribute \(UntrustedText.printable(key)) of <\(UntrustedText.printable(element))> is not quoted")
            }
            let quote = bytes[i]
            i += 1
            guard let close = bytes[i...].firstIndex(of: quote) else { throw .usage("domain XML: unterminated attribute value") }
            attributes[key] = try decodeEntities(String(decoding: bytes[i..<close], as: UTF8.self))
            i = close + 1
        }
    }

    /// `&amp; &lt; &gt; &apos; &quot; &#NN; &#xNN;`.
    static func decodeEntities(_ text: String) throws(VFIOError) -> String {
        guard text.contains("&") else { return text }
        var out = ""
        var rest = Substring(text)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { throw .usage("domain XML: '&' without ';'") }
            let entity = rest[rest.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "apos": out += "'"
            case "quot": out += "\""
            default:
                var scalar: UInt32?
                if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                    scalar = UInt32(entity.dropFirst(2), radix: 16)
                } else if entity.hasPrefix("#") {
                    scalar = UInt32(entity.dropFirst())
                }
                guard let value = scalar, let unicode = Unicode.Scalar(value) else {
                    throw .usage("domain XML: unknown entity &\(UntrustedText.printable(String(entity)));")
                }
                out.unicodeScalars.append(unicode)
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }
}
