import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

extension FixtureHost {
    /// The guest's SR-IOV NVMe as a fixture: root port 00:05.0 (group 4) and PF 04:00.0 on
    /// nvme (group 11), up to 4 VFs (1b36:0010), none enabled, autoprobe on, VF offset 1 and
    /// stride 1, so VFs appear at 04:00.1…04:00.4. A simulated kernel given `sriovNVMeVFDriver`
    /// probes new VFs with nvme while autoprobe is on, as the real one does.
    public static func sriovNVMe() -> FixtureHost {
        let host = FixtureHost()
        var port = FixtureDevice("0000:00:05.0", vendor: 0x1b36, device: 0x000c, classCode: 0x060400, driver: "pcieport", group: 4)
        port.headerType = 1
        port.secondaryBus = 4
        host.add(port)
        var pf = FixtureDevice("0000:04:00.0", vendor: 0x1b36, device: 0x0010, classCode: 0x010802, driver: "nvme", group: 11, parent: "0000:00:05.0")
        pf.sriov = .init(totalVFs: 4, numVFs: 0, autoprobe: true, vfDevice: 0x0010)
        pf.enable = 1
        host.add(pf)
        return host
    }

    public static let sriovNVMePF = PCIAddress("0000:04:00.0")!
    public static let sriovNVMeVFDriver = "nvme"
}
