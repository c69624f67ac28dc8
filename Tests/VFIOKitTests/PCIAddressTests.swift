import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("PCI addresses and targets")
struct PCIAddressTests {
    @Test(
        "accepted address forms",
        arguments: [
            ("0000:01:00.0", "0000:01:00.0"),
            ("01:00.0", "0000:01:00.0"),
            ("0000:00:1f.7", "0000:00:1f.7"),
            ("ABCD:FF:1F.7", "abcd:ff:1f.7"),
            ("10000:00:00.0", nil),
        ] as [(String, String?)])
    func parses(_ input: String, _ expected: String?) {
        #expect(PCIAddress(input)?.description == expected)
    }

    @Test("hex strings and addresses are what String(radix:) with zero padding gives")
    func hexForms() {
        func reference(_ v: UInt32, _ width: Int) -> String {
            let digits = String(v, radix: 16)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        for value: UInt32 in [0, 1, 9, 10, 15, 16, 0xff, 0x100, 0xabc, 0x10de, 0xffff, 0x1_0000, 0xdead_beef, .max] {
            for width in [0, 1, 2, 4, 6, 8, 10] { #expect(hexString(value, width: width) == reference(value, width), "\(value) \(width)") }
        }
        for (domain, bus, device, function) in [(0, 0, 0, 0), (0xabcd, 0xff, 0x1f, 7), (0x1_0000, 3, 0x10, 5), (1, 0x0a, 0x09, 1)] as [(UInt32, UInt8, UInt8, UInt8)] {
            let text = reference(domain, 4) + ":" + reference(UInt32(bus), 2) + ":" + reference(UInt32(device), 2) + "." + String(function)
            #expect(PCIAddress(domain: domain, bus: bus, device: device, function: function).description == text, "\(text)")
        }
    }

    @Test(
        "rejected address forms",
        arguments: [
            "0000:01:00", "01:00.8", "01:20.0", "zz:00.0", "0000:01:00.0\n", "../../etc", "0000:01:00.0/..", "", "1:00.0", "001:00.0",
            "0000:01:00.00", "00:01:00:0.0", "0000::00.0", "0000:01:00.", " 01:00.0",
        ])
    func rejects(_ input: String) {
        #expect(PCIAddress(input) == nil)
    }

    @Test(
        "target forms",
        arguments: [
            ("0000:01:00.0", Target.address(PCIAddress("0000:01:00.0")!)),
            ("01:00.0", Target.address(PCIAddress("0000:01:00.0")!)),
            ("group:12", Target.group(12)),
            ("10de:2204", Target.ids(vendor: 0x10de, device: 0x2204)),
        ])
    func targets(_ input: String, _ expected: Target) throws {
        #expect(try Target(parsing: input) == expected)
    }

    @Test(
        "bad targets are usage errors that name the accepted forms",
        arguments: [
            "0000:01:00", "01:00.8", "../../etc", "zz:00.0", "group:x", "group:", "group:-1", "group:1/../2", "10de:22040", "", "a\nb", "x\0y",
        ])
    func badTargets(_ input: String) {
        #expect {
            try Target(parsing: input)
        } throws: { error in
            guard let error = error as? VFIOError, error.kind == .usage else { return false }
            return error.exitCode == 64 && !error.message.contains("\n") && !error.message.contains("\0")
        }
    }

    @Test("ordering is numeric, not textual")
    func ordering() {
        let a = PCIAddress("0000:00:1f.0")!
        let b = PCIAddress("0000:01:00.0")!
        let c = PCIAddress("0001:00:00.0")!
        #expect(a < b && b < c)
    }
}
