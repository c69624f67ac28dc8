import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("reserved_regions: the lines iommu.c prints")
struct ReservedRegionsTests {
    typealias Region = IOMMUGroup.ReservedRegion

    @Test(
        "parsed lines",
        arguments: [
            ("0x00000000fee00000 0x00000000feefffff msi\n", [Region(start: 0xfee0_0000, end: 0xfeef_ffff, type: "msi")]),
            (
                "0x0000000000000000 0x0000000000ffffff direct-relaxable\n0x00000000fee00000 0x00000000feefffff msi\n",
                [Region(start: 0, end: 0xff_ffff, type: "direct-relaxable"), Region(start: 0xfee0_0000, end: 0xfeef_ffff, type: "msi")]
            ),
            // No trailing newline, no 0x, upper case, blanks around and inside the type.
            ("  FEE00000\t0XFEEFFFFF   some  type  ", [Region(start: 0xfee0_0000, end: 0xfeef_ffff, type: "some type")]),
            ("0xffffffffffffffff 0xffffffffffffffff reserved", [Region(start: .max, end: .max, type: "reserved")]),
            // Lines that do not parse are skipped, the others kept.
            ("garbage\n0x1 0x2\n0x10000000000000000 0x1 msi\n0x1g 0x2 msi\n0x3 0x4 msi\n", [Region(start: 3, end: 4, type: "msi")]),
            ("", []),
            ("\n\n", []),
        ])
    func parsed(_ text: String, _ expected: [Region]) {
        #expect(IOMMUGroup.parseReservedRegions(text) == expected)
    }
}
