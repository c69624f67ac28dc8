import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Addresses and routes per interface name. Read from procfs under the root prefix
/// (`/proc/net/if_inet6` for IPv6 addresses, `/proc/net/route` for IPv4 routes, which is what
/// a fixture can provide) and, on the real host, from `getifaddrs` for IPv4 addresses, which
/// procfs does not list per interface.
struct NetworkFacts {
    var addresses: [String: [String]] = [:]
    var routes: [String: [String]] = [:]

    static func read(root: HostRoot) -> NetworkFacts {
        var facts = parse(ifInet6: Sysfs.read(root.path("/proc/net/if_inet6")) ?? "", route: Sysfs.read(root.path("/proc/net/route")) ?? "")
        if root.isHostRoot { facts.addIPv4FromGetifaddrs() }
        return facts
    }

    /// IPv6 addresses from `/proc/net/if_inet6` and IPv4 routes from `/proc/net/route`.
    static func parse(ifInet6: String, route: String) -> NetworkFacts {
        var facts = NetworkFacts()
        for line in ifInet6.split(separator: "\n") {
            // address ifindex prefixlen scope flags name
            let f = line.split(separator: " ", omittingEmptySubsequences: true)
            guard f.count >= 6, f[0].count == 32, let scope = Int(f[3], radix: 16), let prefix = Int(f[2], radix: 16) else { continue }
            // Link-local (0x20) and host (0x10) scopes come with every up interface or with
            // loopback; they are not configuration.
            guard scope != 0x20, scope != 0x10 else { continue }
            facts.addresses[String(f[5]), default: []].append(formatIPv6(String(f[0])) + "/" + String(prefix))
        }
        for line in route.split(separator: "\n").dropFirst() {
            // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            guard f.count >= 8, let dest = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { continue }
            let name = String(f[0])
            var text = formatIPv4LittleEndian(dest) + "/" + String(mask.nonzeroBitCount)
            if let gateway = UInt32(f[2], radix: 16), gateway != 0 { text += " via " + formatIPv4LittleEndian(gateway) }
            facts.routes[name, default: []].append(text)
        }
        return facts
    }

    mutating func addIPv4FromGetifaddrs() {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let sa = entry.pointee.ifa_addr, Int32(sa.pointee.sa_family) == AF_INET else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            let address = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
            var prefix = 32
            if let mask = entry.pointee.ifa_netmask {
                prefix = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr.nonzeroBitCount }
            }
            // s_addr is in network order, i.e. little-endian bytes as the /proc/net/route fields.
            let text = formatIPv4LittleEndian(address) + "/" + String(prefix)
            if !(addresses[name]?.contains(text) ?? false) { addresses[name, default: []].append(text) }
        }
    }
}

/// `0002000A` from /proc/net/route (host order of a little-endian machine) → `10.0.2.0`.
func formatIPv4LittleEndian(_ value: UInt32) -> String {
    [value & 0xff, (value >> 8) & 0xff, (value >> 16) & 0xff, value >> 24].map { String($0) }.joined(separator: ".")
}

/// 32 hex digits → the usual compressed IPv6 text (`fd00::1`).
func formatIPv6(_ hex: String) -> String {
    let chars = Array(hex)
    var groups: [UInt16] = []
    for i in stride(from: 0, to: 32, by: 4) { groups.append(UInt16(String(chars[i..<i + 4]), radix: 16) ?? 0) }
    // The longest run of two or more zero groups becomes "::".
    var bestStart = -1
    var bestLength = 1
    var i = 0
    while i < 8 {
        if groups[i] == 0 {
            var j = i
            while j < 8 && groups[j] == 0 { j += 1 }
            if j - i > bestLength {
                bestStart = i
                bestLength = j - i
            }
            i = j
        } else {
            i += 1
        }
    }
    func text(_ range: Range<Int>) -> String { groups[range].map { String($0, radix: 16) }.joined(separator: ":") }
    if bestStart < 0 { return text(0..<8) }
    return text(0..<bestStart) + "::" + text((bestStart + bestLength)..<8)
}
