/// A Proxmox VE guest's passthrough devices, from its configuration (`load`, in the readers).
public struct ProxmoxGuest: Sendable, Equatable {
    public var vmid: String
    public var entries: [ProxmoxConfig.HostPCI]

    public static let mappingFile = "/etc/pve/mapping/pci.cfg"

    /// VMIDs are numbers (100–999999999); anything else would make a path.
    public static func validate(vmid: String) throws(VFIOError) {
        guard !vmid.isEmpty, vmid.count <= 9, vmid.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw .usage("VMID '\(UntrustedText.printable(vmid))' is not a number")
        }
    }

    /// Every function the entries name, in order, each once: a slot id is every function of
    /// that slot on the bus; a mapping is its `map` line for this node (one, checked against
    /// its `id=`).
    /// - Throws: `.unavailable` for an id with no device on the bus; `.usage` for a mapping
    ///   that is missing, has no map for `node`, or several (Proxmox picks a free one; vfioctl
    ///   does not guess); `.refused` when the device at a mapping's path has other ids.
    public func devices(inventory: HostInventory, node: String, mappingText: () -> String?) throws(VFIOError) -> [PCIAddress] {
        var result: [PCIAddress] = []
        var seen = Set<PCIAddress>()
        func add(_ id: ProxmoxConfig.HostID, what: String, ids: String? = nil) throws(VFIOError) {
            let found = inventory.devices.filter { id.matches($0.address) }.sorted { $0.address < $1.address }
            guard !found.isEmpty else { throw .unavailable("\(what): no PCI device \(id) on this host") }
            for device in found {
                if let ids {
                    let actual = hexString(UInt32(device.vendorID), width: 4) + ":" + hexString(UInt32(device.deviceID), width: 4)
                    guard actual == ids.lowercased() else {
                        throw .refused("\(what): \(device.address) is \(actual), not \(UntrustedText.printable(ids)) as the mapping says")
                    }
                }
                if seen.insert(device.address).inserted { result.append(device.address) }
            }
        }
        for entry in entries {
            let what = "hostpci\(entry.index)"
            switch entry.source {
            case .ids(let ids):
                for id in ids { try add(id, what: what) }
            case .mapping(let name):
                guard let text = mappingText() else { throw .usage("\(what): mapping=\(UntrustedText.printable(name)) but cannot read \(Self.mappingFile)") }
                let maps = try ProxmoxConfig.mapping(name, in: text, file: Self.mappingFile).filter { $0.node == nil || $0.node == node }
                guard maps.count == 1, let map = maps.first else {
                    throw .usage(
                        "\(what): mapping '\(UntrustedText.printable(name))' has \(maps.count) map entries for node \(UntrustedText.printable(node)); vfioctl needs exactly one")
                }
                for id in map.path { try add(id, what: "\(what) (mapping \(UntrustedText.printable(name)))", ids: map.ids) }
            }
        }
        return result
    }

    public init(vmid: String, entries: [ProxmoxConfig.HostPCI]) {
        self.vmid = vmid
        self.entries = entries
    }
}
