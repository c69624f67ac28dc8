import VFIOModel

/// What a TARGET can be completed to on a host: its PCI addresses, its IOMMU groups and the
/// vendor:device ids of its functions. Reads only directory listings and the `vendor`/`device`
/// attributes under the root prefix; a missing tree gives no candidates, never an error.
public enum TargetCandidates {
    /// The candidates that start with `prefix`, in order: full addresses (or, when none matches
    /// and the prefix is not empty, the short `bus:dev.fn` forms of domain 0000), groups
    /// (`group:N`, numerically), then ids.
    public static func matching(_ prefix: String, root: HostRoot) -> [String] {
        let addresses = (Sysfs.list(root.pciDevices) ?? []).compactMap { PCIAddress($0) }.sorted()
        var result = addresses.map(\.description).filter { $0.hasPrefix(prefix) }
        if result.isEmpty, !prefix.isEmpty {
            result = addresses.filter { $0.domain == 0 }.map { String($0.description.dropFirst(5)) }.filter { $0.hasPrefix(prefix) }
        }
        let groups = (Sysfs.list(root.iommuGroups) ?? []).compactMap { name in
            name.allSatisfy { $0.isASCII && $0.isNumber } ? Int(name) : nil
        }
        result += groups.sorted().map { "group:" + String($0) }.filter { $0.hasPrefix(prefix) }
        var ids = Set<String>()
        for address in addresses {
            let directory = root.device(address)
            guard let vendor = Sysfs.readHex(directory + "/vendor"), let device = Sysfs.readHex(directory + "/device"), vendor <= 0xffff, device <= 0xffff
            else { continue }
            ids.insert(Target.ids(vendor: UInt16(vendor), device: UInt16(device)).description)
        }
        result += ids.sorted().filter { $0.hasPrefix(prefix) }
        return result
    }
}
