import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("Group viability (kernel 5.19+ DMA ownership rules)")
struct ViabilityTests {
    static func device(_ address: String, driver: String?, bridge: Bool = false, vfioDev: Bool = false) -> PCIDevice {
        PCIDevice(
            address: PCIAddress(address)!, vendorID: 0x8086, deviceID: 0x1234, classCode: bridge ? 0x060400 : 0x020000,
            headerType: bridge ? 1 : 0, driver: driver, vfioDeviceName: vfioDev ? "vfio0" : nil)
    }

    @Test(
        "members that never block",
        arguments: [
            (nil as String?, false, false), ("vfio-pci", false, true), ("mlx5_vfio_pci", false, true), ("pci-stub", false, false),
            ("pcieport", true, false), (nil, true, false), ("xe-vfio-pci", false, false),
        ])
    func fine(_ driver: String?, _ bridge: Bool, _ vfioDev: Bool) {
        let verdict = Viability.evaluate([Self.device("0000:01:00.0", driver: driver, bridge: bridge, vfioDev: vfioDev)])
        #expect(verdict.viable)
        #expect(verdict.blockers.isEmpty)
    }

    @Test(
        "host DMA drivers block, bridges included",
        arguments: [
            ("e1000e", false), ("snd_hda_intel", false), ("shpchp", true), ("pci-pf-stub", false), ("nvme", false),
        ])
    func blocks(_ driver: String, _ bridge: Bool) {
        let verdict = Viability.evaluate([
            Self.device("0000:01:00.0", driver: "vfio-pci", vfioDev: true),
            Self.device("0000:01:00.1", driver: driver, bridge: bridge),
        ])
        #expect(!verdict.viable)
        #expect(verdict.blockers.map(\.address.description) == ["0000:01:00.1"])
        #expect(verdict.blockers.first?.driver == driver)
        #expect(verdict.blockers.first?.reason.contains(driver) == true)
    }

    @Test("a group with several blockers names each, in address order")
    func several() {
        let verdict = Viability.evaluate([
            Self.device("0000:00:1f.5", driver: "intel-spi"), Self.device("0000:00:1f.0", driver: nil),
            Self.device("0000:00:1f.3", driver: "snd_hda_intel"),
        ])
        #expect(verdict.blockers.map(\.address.description) == ["0000:00:1f.3", "0000:00:1f.5"])
    }
}
