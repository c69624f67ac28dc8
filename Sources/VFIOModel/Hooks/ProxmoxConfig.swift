/// The PCI passthrough lines of a Proxmox VE guest configuration
/// (`/etc/pve/qemu-server/VMID.conf`), and the PCI resource mappings they may name
/// (`/etc/pve/mapping/pci.cfg`).
///
///     hostpci0: 0000:01:00,pcie=1,x-vga=1
///     hostpci1: host=02:00.0;02:00.1
///     hostpci2: mapping=gpu,pcie=1
///
/// A host id without a function (`01:00`) means every function of that slot.
public enum ProxmoxConfig {
    /// One host PCI id of a `hostpciN` line.
    public enum HostID: Sendable, Equatable, CustomStringConvertible {
        case function(PCIAddress)
        /// `[DOMAIN:]BUS:DEV`: all functions of the slot.
        case slot(domain: UInt32, bus: UInt8, device: UInt8)

        public var description: String {
            switch self {
            case .function(let address): address.description
            case .slot(let domain, let bus, let device):
                hexString(domain, width: 4) + ":" + hexString(UInt32(bus), width: 2) + ":" + hexString(UInt32(device), width: 2)
            }
        }

        /// Whether `address` is (one of) the function(s) this id names.
        public func matches(_ address: PCIAddress) -> Bool {
            switch self {
            case .function(let own): own == address
            case .slot(let domain, let bus, let device): address.domain == domain && address.bus == bus && address.device == device
            }
        }

        /// `0000:01:00.0`, `01:00.0`, `0000:01:00`, `01:00`.
        public static func parse(_ text: Substring) -> HostID? {
            if let address = PCIAddress(text) { return .function(address) }
            guard !text.contains("."), let probe = PCIAddress(text + ".0") else { return nil }
            return .slot(domain: probe.domain, bus: probe.bus, device: probe.device)
        }
    }

    /// One `hostpciN:` line.
    public struct HostPCI: Sendable, Equatable {
        public enum Source: Sendable, Equatable {
            case ids([HostID])
            case mapping(String)
        }

        public var index: Int
        public var source: Source

        public init(index: Int, source: Source) {
            self.index = index
            self.source = source
        }
    }

    /// The `hostpciN` entries of the current configuration (snapshot sections, which start at
    /// the first `[name]` line, are not the running VM's).
    /// - Throws: `.usage` naming the line for an entry without a device or with a bad id.
    public static func hostPCI(_ text: String, file: String) throws(VFIOError) -> [HostPCI] {
        var result: [HostPCI] = []
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let line = rawLine.trimmingSpaces
            if line.hasPrefix("[") { break }
            guard line.hasPrefix("hostpci"), let colon = line.firstIndex(of: ":") else { continue }
            guard let index = Int(line[line.index(line.startIndex, offsetBy: 7)..<colon]) else { continue }
            let here = "\(file):\(number)"
            let value = line[line.index(after: colon)...].trimmingSpaces
            var ids: [HostID]?
            var mapping: String?
            for (position, part) in value.split(separator: ",").enumerated() {
                let field = part.trimmingSpaces
                if let eq = field.firstIndex(of: "=") {
                    let key = field[..<eq]
                    let item = field[field.index(after: eq)...]
                    if key == "host" {
                        ids = try parseIDs(item, at: here)
                    } else if key == "mapping" {
                        guard !item.isEmpty else { throw .usage("\(here): empty mapping=") }
                        mapping = String(item)
                    }
                } else if position == 0 {
                    ids = try parseIDs(field, at: here)
                }
            }
            if let mapping {
                guard ids == nil else { throw .usage("\(here): hostpci\(index) has both a host id and mapping=") }
                result.append(HostPCI(index: index, source: .mapping(mapping)))
            } else if let ids {
                result.append(HostPCI(index: index, source: .ids(ids)))
            } else {
                throw .usage("\(here): hostpci\(index) names no device (expected an id like 0000:01:00.0, host= or mapping=)")
            }
        }
        return result
    }

    static func parseIDs(_ text: Substring, at here: String) throws(VFIOError) -> [HostID] {
        var ids: [HostID] = []
        for piece in text.split(separator: ";", omittingEmptySubsequences: false) {
            guard let id = HostID.parse(piece.trimmingSpaces) else {
                throw .usage("\(here): '\(UntrustedText.printable(String(piece)))' is not a PCI id ([DOMAIN:]BUS:DEV[.FUNC])")
            }
            ids.append(id)
        }
        guard !ids.isEmpty else { throw .usage("\(here): empty host id") }
        return ids
    }

    /// One `map` line of a PCI resource mapping.
    public struct MapEntry: Sendable, Equatable {
        public var node: String?
        public var path: [HostID]
        /// `id=VENDOR:DEVICE`, checked against the device found at `path`.
        public var ids: String?

        public init(node: String?, path: [HostID], ids: String?) {
            self.node = node
            self.path = path
            self.ids = ids
        }
    }

    /// The `map` entries of mapping `name` in `pci.cfg`:
    ///
    ///     gpu
    ///         map id=10de:2204,node=pve1,path=0000:01:00,subsystem-id=1458:403b
    ///         description Passthrough GPU
    ///
    /// - Throws: `.usage` when the mapping is absent or a map line has no usable path.
    public static func mapping(_ name: String, in text: String, file: String) throws(VFIOError) -> [MapEntry] {
        var inside = false
        var found = false
        var entries: [MapEntry] = []
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            let trimmed = rawLine.trimmingSpaces
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let indented = rawLine.first == " " || rawLine.first == "\t"
            if !indented {
                inside = trimmed == name
                if inside { found = true }
                continue
            }
            guard inside, trimmed.hasPrefix("map ") || trimmed.hasPrefix("map\t") else { continue }
            var entry = MapEntry(node: nil, path: [], ids: nil)
            for field in trimmed.dropFirst(4).split(separator: ",") {
                let pair = field.trimmingSpaces
                guard let eq = pair.firstIndex(of: "=") else { continue }
                let key = pair[..<eq]
                let value = pair[pair.index(after: eq)...]
                switch key {
                case "node": entry.node = String(value)
                case "path": entry.path = try parseIDs(value, at: "\(file):\(number)")
                case "id": entry.ids = String(value)
                default: break
                }
            }
            guard !entry.path.isEmpty else { throw .usage("\(file):\(number): map line of '\(UntrustedText.printable(name))' has no path=") }
            entries.append(entry)
        }
        guard found else { throw .usage("\(file) has no PCI mapping '\(UntrustedText.printable(name))'") }
        return entries
    }
}
