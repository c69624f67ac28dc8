import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads whether interfaces have XDP programs attached. sysfs and procfs do not say; the link's
/// netlink message does (`IFLA_XDP`, filled for every link by `rtnl_xdp_fill()` in
/// net/core/rtnetlink.c), so this asks rtnetlink, once per interface, on the real host only: a
/// fixture tree has no netlink of its own.
enum XDPReader {
    /// The attachment of each named interface that has one. Interfaces it cannot ask about
    /// (gone, or netlink refused) are left out: XDP is one more reason to refuse, not a verdict
    /// that must be known.
    static func attachments(_ interfaces: [(name: String, index: Int32)]) -> [String: XDPAttachment] {
        guard !interfaces.isEmpty, let fd = openSocket() else { return [:] }
        defer { close(fd) }
        var result: [String: XDPAttachment] = [:]
        for (sequence, interface) in interfaces.enumerated() {
            if let reply = link(fd, index: interface.index, sequence: UInt32(sequence + 1)), let attachment = attachment(inReply: reply) {
                result[interface.name] = attachment
            }
        }
        return result
    }

    /// A netlink route socket, or nil.
    static func openSocket() -> Int32? {
        let fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkRoute)
        guard fd >= 0 else { return nil }
        // A reply that never comes must not hang a bind.
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// The kernel's reply to `RTM_GETLINK` for one interface: its `RTM_NEWLINK`, or an error.
    static func link(_ fd: Int32, index: Int32, sequence: UInt32) -> ArraySlice<UInt8>? {
        let request = getLinkRequest(index: index, sequence: sequence)
        let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        guard sent == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 32 * 1024)
        let received = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return received > 0 ? buffer[0..<received] : nil
    }

    /// NETLINK_ROUTE (linux/netlink.h, which Glibc does not bring).
    static let netlinkRoute: Int32 = 0
    static let rtmGetLink: UInt16 = 18
    static let rtmNewLink: UInt16 = 16
    static let nlmsgError: UInt16 = 2
    static let nlmFRequest: UInt16 = 1
    static let iflaXDP: UInt16 = 43
    static let iflaXDPAttached: UInt16 = 2
    static let iflaXDPProgID: UInt16 = 4

    /// `RTM_GETLINK` for one interface index: a netlink header and an `ifinfomsg`.
    static func getLinkRequest(index: Int32, sequence: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        // Netlink speaks the host's byte order.
        func put32(_ v: UInt32) { withUnsafeBytes(of: v) { bytes += $0 } }
        func put16(_ v: UInt16) { withUnsafeBytes(of: v) { bytes += $0 } }
        put32(32)  // nlmsg_len: 16 + sizeof(ifinfomsg)
        put16(rtmGetLink)
        put16(nlmFRequest)
        put32(sequence)
        put32(0)  // nlmsg_pid: the kernel
        bytes += [UInt8(AF_UNSPEC), 0]  // ifi_family, pad
        put16(0)  // ifi_type
        put32(UInt32(bitPattern: index))
        put32(0)  // ifi_flags
        put32(0)  // ifi_change
        return bytes
    }

    /// The XDP attachment in an `RTM_NEWLINK` reply; nil when none is attached, or the reply is
    /// an error or malformed.
    static func attachment(inReply reply: ArraySlice<UInt8>) -> XDPAttachment? {
        let bytes = Array(reply)
        guard bytes.count >= 32, u16(bytes, 4) == rtmNewLink else { return nil }
        let length = min(Int(u32(bytes, 0)), bytes.count)
        // Attributes follow the 16-byte header and the 16-byte ifinfomsg.
        guard let xdp = attribute(iflaXDP, in: bytes, from: 32, to: length) else { return nil }
        guard let attached = attribute(iflaXDPAttached, in: bytes, from: xdp.lowerBound, to: xdp.upperBound), attached.count >= 1 else {
            return nil
        }
        let mode: XDPAttachment.Mode
        // XDP_ATTACHED_NONE, _DRV, _SKB, _HW, _MULTI (include/uapi/linux/if_link.h).
        switch bytes[attached.lowerBound] {
        case 1: mode = .driver
        case 2: mode = .generic
        case 3: mode = .offload
        case 4: mode = .multiple
        default: return nil
        }
        let id = attribute(iflaXDPProgID, in: bytes, from: xdp.lowerBound, to: xdp.upperBound).flatMap { $0.count >= 4 ? u32(bytes, $0.lowerBound) : nil }
        return XDPAttachment(mode: mode, programID: id)
    }

    /// The payload range of the first attribute of `type` among the `rtattr`s in `start..<end`.
    static func attribute(_ type: UInt16, in bytes: [UInt8], from start: Int, to end: Int) -> Range<Int>? {
        var offset = start
        while offset + 4 <= end {
            let length = Int(u16(bytes, offset))
            guard length >= 4, offset + length <= end else { return nil }
            // NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the top bits of the type.
            if u16(bytes, offset + 2) & 0x3fff == type { return (offset + 4)..<(offset + length) }
            offset += (length + 3) & ~3
        }
        return nil
    }

    static func u16(_ b: [UInt8], _ i: Int) -> UInt16 { b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt16.self) } }
    static func u32(_ b: [UInt8], _ i: Int) -> UInt32 { b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: i, as: UInt32.self) } }
}
