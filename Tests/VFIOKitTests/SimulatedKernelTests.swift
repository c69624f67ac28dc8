import SystemPackage
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// The simulated kernel must behave as the real one does, or every test built on it proves
/// nothing. These pin down each reaction listed in docs/kernel-notes.md, "Driver-binding writes in sysfs".
@Suite("SimulatedKernel reacts like the kernel's PCI driver core")
struct SimulatedKernelTests {
    let host = FixtureLayout.desktop.build()
    var kernel: SimulatedKernel { SimulatedKernel(host: host) }
    static let nic = PCIAddress("0000:05:00.0")!

    func driver(_ address: PCIAddress) -> String? { host.driver(of: address) }
    func override(_ address: PCIAddress) -> String? { host.read("/sys/bus/pci/devices/\(address)/driver_override") }
    func errno(_ body: () throws -> Void) -> Errno? {
        do {
            try body()
            return nil
        } catch {
            return (error as? SysfsWriteError)?.errno
        }
    }

    @Test("driver_override: stores up to the newline; \"\\n\" and \"\\0\" clear it to (null); a 0-byte write changes nothing")
    func overrideStore() throws {
        let k = kernel
        let path = "/sys/bus/pci/devices/0000:05:00.0/driver_override"
        try k.write("vfio-pci\nrest", to: path)
        #expect(override(Self.nic) == "vfio-pci")
        try k.write("", to: path)
        #expect(override(Self.nic) == "vfio-pci")
        try k.write("\n", to: path)
        #expect(override(Self.nic) == "(null)")
        try k.write("pci-stub", to: path)
        try k.write("\0", to: path)
        #expect(override(Self.nic) == "(null)")
        #expect(errno { try k.write(String(repeating: "a", count: 5000), to: path) } == Errno(rawValue: EINVAL))
        // Writing an override neither unbinds nor binds.
        #expect(driver(Self.nic) == "igb")
        #expect(k.writes.count == 6)
    }

    @Test("unbind: ENODEV unless bound to that driver; removes the links")
    func unbind() throws {
        let k = kernel
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind") } == Errno(rawValue: ENODEV))
        #expect(errno { try k.write("0000:99:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind") } == Errno(rawValue: ENODEV))
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        #expect(driver(Self.nic) == nil)
        #expect(!Sysfs.exists(host.path + "/sys/bus/pci/drivers/igb/0000:05:00.0"))
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind") } == Errno(rawValue: ENODEV))
    }

    @Test("drivers_probe: natural driver without an override, success even when nothing binds, ENODEV for unknown devices")
    func driversProbe() throws {
        let k = kernel
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(Self.nic) == "igb")
        // Override naming a driver that is not loaded: accepted, probe "succeeds", nothing binds.
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        try k.probe("0000:05:00.0", override: "vfioctl-nonexistent")
        #expect(driver(Self.nic) == nil)
        #expect(errno { try k.write("0000:99:00.0\n", to: "/sys/bus/pci/drivers_probe") } == Errno(rawValue: ENODEV))
        // Already bound: a no-op.
        try k.probe("0000:05:00.0", override: "")
        try k.probe("0000:05:00.0", override: "vfio-pci")
        #expect(driver(Self.nic) == "igb")
    }

    @Test("vfio-pci through an override: binds any endpoint, creates vfio-dev/vfioN and /dev/vfio/N; unbind removes them")
    func vfioBind() throws {
        let k = kernel
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(Self.nic) == "vfio-pci")
        let vfioDev = try #require(Sysfs.list(host.root.device(Self.nic) + "/vfio-dev"))
        #expect(vfioDev.count == 1)
        // The fixture's VF already holds vfio0.
        #expect(vfioDev.first != "vfio0")
        #expect(Sysfs.exists(host.path + "/dev/vfio/19"))
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind")
        #expect(Sysfs.list(host.root.device(Self.nic) + "/vfio-dev") == nil)
        #expect(!Sysfs.exists(host.path + "/dev/vfio/19"))
    }

    @Test("bind: ENODEV on an override mismatch and for vfio-pci without an override, EBUSY when bound")
    func bindFile() throws {
        let k = kernel
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind") } == Errno(rawValue: EBUSY))
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind") } == Errno(rawValue: ENODEV))
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/bind") } == Errno(rawValue: ENODEV))
        try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind")
        #expect(driver(Self.nic) == "vfio-pci")
    }

    @Test("vfio-pci refuses bridges (EINVAL) and PFs with VFs enabled (EBUSY); drivers_probe hides both")
    func vfioRefusals() throws {
        let k = kernel
        let bridge = PCIAddress("0000:00:1c.0")!
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:00:1c.0/driver_override")
        try k.write("0000:00:1c.0\n", to: "/sys/bus/pci/drivers/pcieport/unbind")
        #expect(errno { try k.write("0000:00:1c.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind") } == Errno(rawValue: EINVAL))
        try k.write("0000:00:1c.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(bridge) == nil)
        let pf = PCIAddress("0000:07:00.0")!
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:07:00.0/driver_override")
        try k.write("0000:07:00.0\n", to: "/sys/bus/pci/drivers/i40e/unbind")
        #expect(errno { try k.write("0000:07:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind") } == Errno(rawValue: EBUSY))
        try k.write("0000:07:00.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(pf) == nil)
    }

    @Test("DMA ownership: a host driver cannot probe into a group userspace owns (drivers_probe EINVAL, bind EBUSY)")
    func dmaOwnership() throws {
        let k = kernel
        let audio = PCIAddress("0000:01:00.1")!
        try k.write("0000:01:00.1\n", to: "/sys/bus/pci/drivers/snd_hda_intel/unbind")
        k.claimGroup(1)
        #expect(errno { try k.write("0000:01:00.1\n", to: "/sys/bus/pci/drivers_probe") } == Errno(rawValue: EINVAL))
        #expect(errno { try k.write("0000:01:00.1\n", to: "/sys/bus/pci/drivers/snd_hda_intel/bind") } == Errno(rawValue: EBUSY))
        #expect(driver(audio) == nil)
        // vfio-pci manages DMA itself, so it may.
        try k.probe("0000:01:00.1", override: "vfio-pci")
        #expect(driver(audio) == "vfio-pci")
    }

    @Test("devices without a group: vfio-pci fails unless no-IOMMU mode is on, then a noiommu group appears")
    func noiommu() throws {
        let k = kernel
        let orphan = PCIAddress("0000:00:08.0")!
        try k.probe("0000:00:08.0", override: "vfio-pci")
        #expect(driver(orphan) == nil)
        host.setNoIOMMU(true)
        try k.write("0000:00:08.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(orphan) == "vfio-pci")
        let group = try #require(Sysfs.linkName(host.root.device(orphan) + "/iommu_group"))
        #expect(Sysfs.exists(host.path + "/dev/vfio/noiommu-" + group))
        try k.write("0000:00:08.0\n", to: "/sys/bus/pci/drivers/vfio-pci/unbind")
        #expect(Sysfs.linkName(host.root.device(orphan) + "/iommu_group") == nil)
        #expect(!Sysfs.exists(host.path + "/dev/vfio/noiommu-" + group))
    }

    @Test("a VF of a PF with sriov_drivers_autoprobe=0 only probes with an override")
    func autoprobe() throws {
        let k = kernel
        let vf = PCIAddress("0000:07:02.0")!
        host.write("/sys/bus/pci/devices/0000:07:00.0/sriov_drivers_autoprobe", "0\n")
        try k.write("0000:07:02.0\n", to: "/sys/bus/pci/drivers/iavf/unbind")
        try k.write("0000:07:02.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(vf) == nil)
        #expect(errno { try k.write("0000:07:02.0\n", to: "/sys/bus/pci/drivers/iavf/bind") } == Errno(rawValue: ENODEV))
        try k.probe("0000:07:02.0", override: "vfio-pci")
        #expect(driver(vf) == "vfio-pci")
    }

    @Test("injected failures: per path (limited times), per probe (silent through drivers_probe), per unbind")
    func injection() throws {
        let k = kernel
        k.inject(.write(path: "/sys/bus/pci/devices/0000:05:00.0/driver_override", errno: Errno(rawValue: EBUSY)), times: 1)
        #expect(errno { try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override") } == Errno(rawValue: EBUSY))
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        k.inject(.unbind(Self.nic, errno: Errno(rawValue: EIO)))
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind") } == Errno(rawValue: EIO))
        #expect(driver(Self.nic) == "igb")
        let other = PCIAddress("0000:06:00.0")!
        k.inject(.probe(other, driver: "vfio-pci", errno: Errno(rawValue: EIO)))
        try k.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:06:00.0/driver_override")
        try k.write("0000:06:00.0\n", to: "/sys/bus/pci/drivers/igb/unbind")
        try k.write("0000:06:00.0\n", to: "/sys/bus/pci/drivers_probe")
        #expect(driver(other) == nil)
        #expect(errno { try k.write("0000:06:00.0\n", to: "/sys/bus/pci/drivers/vfio-pci/bind") } == Errno(rawValue: EIO))
        #expect(k.writes.map(\.errno).compactMap { $0 }.count == 3)
    }

    @Test("a missing attribute is ENOENT; modules load only when loadable")
    func missingAndModules() throws {
        let k = kernel
        #expect(errno { try k.write("0000:05:00.0\n", to: "/sys/bus/pci/drivers/mlx5_vfio_pci/bind") } == Errno(rawValue: ENOENT))
        #expect(throws: VFIOError.self) { try k.load("mlx5_vfio_pci") }
        k.makeLoadable("mlx5_vfio_pci")
        try k.load("mlx5_vfio_pci")
        #expect(Sysfs.isDirectory(host.path + "/sys/bus/pci/drivers/mlx5_vfio_pci"))
        #expect(k.loads == ["mlx5_vfio_pci", "mlx5_vfio_pci"])
    }
}

extension SimulatedKernel {
    /// Steers a device as vfioctl does: `driver_override` (empty clears it), then `drivers_probe`.
    fileprivate func probe(_ address: String, override driver: String) throws {
        try write(driver + "\n", to: "/sys/bus/pci/devices/" + address + "/driver_override")
        try write(address + "\n", to: "/sys/bus/pci/drivers_probe")
    }
}
