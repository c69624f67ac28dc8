/// One `alias vfio_pci:…` line of `modules.alias`: a VFIO driver that binds only through
/// `driver_override`. Such entries come from `PCI_DRIVER_OVERRIDE_DEVICE_VFIO()` in a driver's
/// ID table (`override_only` set), which `scripts/mod/file2alias.c` writes with the
/// `vfio_pci:` prefix instead of `pci:`, so udev never autoloads them for a device.
/// Each field is exact hex or `*` (any); vfio-pci's own entry is all `*`.
public struct VFIOAlias: Sendable, Equatable {
    public var vendor: UInt16?
    public var device: UInt16?
    public var subvendor: UInt16?
    public var subdevice: UInt16?
    public var baseClass: UInt8?
    public var subclass: UInt8?
    public var interface: UInt8?
    /// The module, as modules.alias spells it (`mlx5_vfio_pci`, `vfio_pci`).
    public var module: String
    /// The pattern as written (`v000015B3d0000101Esv*sd*bc*sc*i*`).
    public var pattern: String

    /// The driver's name in `/sys/bus/pci/drivers`: variants register as their module name;
    /// vfio-pci's module `vfio_pci` registers as `vfio-pci`.
    public var driver: String { module == "vfio_pci" ? DriverName.vfioPCI : module }

    /// How many fields are exact: the more, the better the match (vfio-pci's own: 0).
    public var specificity: Int {
        [vendor != nil, device != nil, subvendor != nil, subdevice != nil, baseClass != nil, subclass != nil, interface != nil].filter { $0 }.count
    }

    public func matches(_ d: PCIDevice) -> Bool {
        func ok<T: Equatable>(_ field: T?, _ value: T?) -> Bool { field == nil || field == value }
        let cls = d.classCode
        return ok(vendor, d.vendorID) && ok(device, d.deviceID) && ok(subvendor, d.subsystemVendorID) && ok(subdevice, d.subsystemDeviceID)
            && ok(baseClass, UInt8(truncatingIfNeeded: cls >> 16)) && ok(subclass, UInt8(truncatingIfNeeded: cls >> 8))
            && ok(interface, UInt8(truncatingIfNeeded: cls))
    }

    /// Every `alias vfio_pci:` line of a modules.alias text; other lines and malformed ones are skipped.
    public static func parse(_ text: String) -> [VFIOAlias] {
        parse(bytes: Array(text.utf8))
    }

    /// The same on the file's bytes: a modules.alias has tens of thousands of lines and only a
    /// few are `vfio_pci:` ones, so lines are picked by their first bytes before any string is made.
    public static func parse(bytes: [UInt8]) -> [VFIOAlias] {
        let prefix = Array("alias vfio_pci:".utf8)
        var lines: [Substring] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != 0x0a { end += 1 }
            if end - start > prefix.count && bytes[start..<(start + prefix.count)].elementsEqual(prefix) {
                lines.append(Substring(String(decoding: bytes[start..<end], as: UTF8.self)))
            }
            start = end + 1
        }
        return lines.compactMap { line in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count == 3, words[0] == "alias", words[1].hasPrefix("vfio_pci:") else { return nil }
            let module = String(words[2])
            guard DriverName.isSafe(module) else { return nil }
            return parsePattern(String(words[1].dropFirst("vfio_pci:".count)), module: module)
        }
    }

    /// `v…d…sv…sd…bc…sc…i…`, in that order, each hex or `*`.
    static func parsePattern(_ pattern: String, module: String) -> VFIOAlias? {
        var rest = Substring(pattern)
        func field(_ prefix: String, digits: Int) -> (ok: Bool, value: UInt32?) {
            guard rest.hasPrefix(prefix) else { return (false, nil) }
            rest = rest.dropFirst(prefix.count)
            if rest.hasPrefix("*") {
                rest = rest.dropFirst()
                return (true, nil)
            }
            let hex = rest.prefix(digits)
            guard hex.count == digits, let value = UInt32(hex, radix: 16) else { return (false, nil) }
            rest = rest.dropFirst(digits)
            return (true, value)
        }
        let v = field("v", digits: 8)
        let d = field("d", digits: 8)
        let sv = field("sv", digits: 8)
        let sd = field("sd", digits: 8)
        let bc = field("bc", digits: 2)
        let sc = field("sc", digits: 2)
        let i = field("i", digits: 2)
        guard v.ok, d.ok, sv.ok, sd.ok, bc.ok, sc.ok, i.ok, rest.isEmpty else { return nil }
        func id(_ x: UInt32?) -> UInt16? { x.flatMap { $0 <= 0xffff ? UInt16($0) : nil } }
        return VFIOAlias(
            vendor: id(v.value), device: id(d.value), subvendor: id(sv.value), subdevice: id(sd.value),
            baseClass: bc.value.map { UInt8($0) }, subclass: sc.value.map { UInt8($0) }, interface: i.value.map { UInt8($0) }, module: module,
            pattern: pattern)
    }
}

/// Which VFIO drivers fit a device and which one `--driver auto` takes.
public struct VFIODriverChoice: Sendable, Equatable {
    /// Every matching alias, best first (most exact fields, then module name).
    public var candidates: [VFIOAlias]
    /// The driver `auto` binds.
    public var driver: String
    /// Why, in a line.
    public var reason: String

    /// A variant driver fits (something better than vfio-pci's own catch-all).
    public var hasVariant: Bool { driver != DriverName.vfioPCI }

    public static func choose(for device: PCIDevice, aliases: [VFIOAlias]) -> VFIODriverChoice {
        let matching = aliases.filter { $0.matches(device) }.sorted {
            $0.specificity != $1.specificity ? $0.specificity > $1.specificity : $0.module < $1.module
        }
        guard let best = matching.first, best.driver != DriverName.vfioPCI else {
            return VFIODriverChoice(
                candidates: matching, driver: DriverName.vfioPCI,
                reason: "no variant driver's vfio_pci alias in modules.alias matches \(device.address); vfio-pci takes any device")
        }
        var reason = "\(best.module)'s alias vfio_pci:\(best.pattern) matches \(device.address) on \(best.specificity) fields"
        if let tie = matching.dropFirst().first(where: { $0.specificity == best.specificity && $0.driver != DriverName.vfioPCI }) {
            reason += " (as closely as \(tie.module)'s; the first by name wins)"
        } else if matching.count > 1 {
            reason += ", more than any other"
        }
        return VFIODriverChoice(candidates: matching, driver: best.driver, reason: reason)
    }
}
