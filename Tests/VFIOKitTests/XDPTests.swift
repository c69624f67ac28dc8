import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// XDP programs on a NIC's interfaces: the rtnetlink reply parsed, the request the kernel
/// answers, and the use the bind guard makes of it.
@Suite("XDP programs as a use of a NIC")
struct XDPTests {
    /// An `RTM_NEWLINK` reply as the kernel builds it: header, ifinfomsg, `IFLA_IFNAME`, and an
    /// `IFLA_XDP` nest with the given attributes.
    static func reply(type: UInt16 = XDPReader.rtmNewLink, xdp: [(UInt16, [UInt8])]?) -> ArraySlice<UInt8> {
        func u16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
        func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
        func attr(_ type: UInt16, _ payload: [UInt8]) -> [UInt8] {
            var a = u16(UInt16(4 + payload.count)) + u16(type) + payload
            while a.count % 4 != 0 { a.append(0) }
            return a
        }
        var body = [UInt8](repeating: 0, count: 16) + attr(3, Array("eth0".utf8) + [0]) + attr(13, u32(1500))
        if let xdp {
            // The nest carries NLA_F_NESTED (0x8000) in its type, as the kernel sets it.
            body += attr(XDPReader.iflaXDP | 0x8000, xdp.flatMap { attr($0.0, $0.1) })
        }
        let header = u32(UInt32(16 + body.count)) + u16(type) + u16(0) + u32(1) + u32(0)
        return ArraySlice(header + body)
    }

    static func u32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

    @Test(
        "the attachment in a reply",
        arguments: [
            ([(UInt16(2), [UInt8(2)]), (UInt16(4), u32(42))], XDPAttachment(mode: .generic, programID: 42)),
            ([(UInt16(2), [UInt8(1)]), (UInt16(4), u32(7))], XDPAttachment(mode: .driver, programID: 7)),
            ([(UInt16(2), [UInt8(4)])], XDPAttachment(mode: .multiple, programID: nil)),
            ([(UInt16(2), [UInt8(0)])], nil),
        ] as [([(UInt16, [UInt8])], XDPAttachment?)])
    func parsed(xdp: [(UInt16, [UInt8])], expected: XDPAttachment?) {
        #expect(XDPReader.attachment(inReply: Self.reply(xdp: xdp)) == expected)
    }

    @Test("no IFLA_XDP, an error message, a truncated attribute: none")
    func malformed() {
        #expect(XDPReader.attachment(inReply: Self.reply(xdp: nil)) == nil)
        #expect(XDPReader.attachment(inReply: Self.reply(type: XDPReader.nlmsgError, xdp: [(2, [2])])) == nil)
        var truncated = Array(Self.reply(xdp: [(2, [2])]))
        truncated.removeLast(8)
        #expect(XDPReader.attachment(inReply: ArraySlice(truncated)) == nil)
    }

    @Test("the kernel answers the request for the loopback interface with its link message (read only)")
    func loopbackRoundTrip() throws {
        let fd = try #require(XDPReader.openSocket())
        defer { close(fd) }
        let index = Int32(if_nametoindex("lo"))
        try #require(index > 0)
        let reply = Array(try #require(XDPReader.link(fd, index: index, sequence: 9)))
        #expect(XDPReader.u16(reply, 4) == XDPReader.rtmNewLink)
        let name = try #require(XDPReader.attribute(3, in: reply, from: 32, to: reply.count))
        #expect(String(decoding: reply[name].prefix { $0 != 0 }, as: UTF8.self) == "lo")
        #expect(XDPReader.attachment(inReply: reply[...]) == nil, "no XDP program on lo")
    }

    @Test("a NIC with a program attached is in use even while down; the remedy detaches that mode")
    func use() throws {
        let host = FixtureLayout.desktop.build()
        let nic = PCIAddress("0000:05:00.0")!
        host.addNetworkInterface("eth0", on: nic, up: false)
        var detector = InUseDetector(root: host.root)
        #expect(detector.uses(of: [try #require(InventoryReader(root: host.root, database: nil).read().device(nic))]).isEmpty)
        detector.xdpAttachments = { interfaces in
            Dictionary(uniqueKeysWithValues: interfaces.map { ($0.name, XDPAttachment(mode: .generic, programID: 42)) })
        }
        let uses = detector.uses(of: [try #require(InventoryReader(root: host.root, database: nil).read().device(nic))])
        #expect(uses.map(\.kind) == [.xdpProgram])
        #expect(uses.first?.what == "eth0 has an XDP program attached (program 42, generic)")
        #expect(uses.first?.remedy == "ip link set dev eth0 xdpgeneric off")
        #expect(uses.first?.forceable == true)
    }
}
