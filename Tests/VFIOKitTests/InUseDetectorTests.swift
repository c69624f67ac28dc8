import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("In-use detection on fixture trees")
struct InUseDetectorTests {
    static let nvme = PCIAddress("0000:02:00.0")!
    static let nic = PCIAddress("0000:06:00.0")!
    static let gpu = PCIAddress("0000:01:00.0")!

    func uses(_ host: FixtureHost, _ addresses: [PCIAddress]) throws -> [DeviceUse] {
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        return InUseDetector(root: host.root).uses(of: addresses.compactMap { inventory.device($0) })
    }

    func nvmeHost() -> FixtureHost {
        let host = FixtureLayout.desktop.build()
        host.addDisk(
            "nvme0n1", on: Self.nvme, subpath: "nvme/nvme0", dev: "259:0",
            partitions: [("nvme0n1p1", "259:1"), ("nvme0n1p2", "259:2"), ("nvme0n1p3", "259:3")])
        return host
    }

    @Test("nothing on the device: no uses")
    func quiet() throws {
        let host = nvmeHost()
        host.mount(dev: "0:23", source: "proc", at: "/proc", fsType: "proc")
        #expect(try uses(host, [Self.nvme, Self.nic, Self.gpu]).isEmpty)
    }

    @Test("a mounted partition, by device number")
    func mountedPartition() throws {
        let host = nvmeHost()
        host.mount(dev: "259:2", source: "/dev/nvme0n1p2", at: "/srv/data dir")
        let found = try uses(host, [Self.nvme])
        #expect(found.map(\.kind) == [.mountedFilesystem])
        #expect(found.first?.what == "nvme0n1p2 is mounted on /srv/data dir")
        #expect(found.first?.remedy == "umount /srv/data dir")
        #expect(found.first?.forceable == true)
        // The other NVMe-less devices are not affected.
        #expect(try uses(host, [Self.nic]).isEmpty)
    }

    @Test("the root filesystem is never forceable")
    func rootFS() throws {
        let host = nvmeHost()
        host.mount(dev: "259:1", source: "/dev/nvme0n1p1", at: "/")
        let found = try uses(host, [Self.nvme])
        #expect(found.map(\.kind) == [.rootFilesystem])
        #expect(found.first?.forceable == false)
    }

    @Test("btrfs reports an anonymous device number: matched by source instead")
    func bySource() throws {
        let host = nvmeHost()
        host.mount(dev: "0:31", source: "/dev/nvme0n1p3", at: "/home", fsType: "btrfs")
        #expect(try uses(host, [Self.nvme]).map(\.what) == ["nvme0n1p3 is mounted on /home"])
    }

    @Test("swap on a partition")
    func swap() throws {
        let host = nvmeHost()
        host.addSwap("/dev/nvme0n1p3")
        let found = try uses(host, [Self.nvme])
        #expect(found.map(\.kind) == [.swap])
        #expect(found.first?.remedy == "swapoff /dev/nvme0n1p3")
    }

    @Test("LVM: a mounted dm device stacked on a partition is found through holders/, by /dev/mapper name too")
    func deviceMapper() throws {
        let host = nvmeHost()
        host.addDeviceMapper("dm-0", dmName: "vg-home", dev: "254:0", over: ["nvme0n1p2"])
        host.mount(dev: "0:40", source: "/dev/mapper/vg-home", at: "/home", fsType: "btrfs")
        let found = try uses(host, [Self.nvme])
        #expect(found.map(\.kind) == [.mountedFilesystem])
        #expect(found.first?.what == "dm-0 (via dm-0 (vg-home) on nvme0n1p2) is mounted on /home")
        host.addSwap("/dev/dm-0")
        #expect(try uses(host, [Self.nvme]).map(\.kind) == [.mountedFilesystem, .swap])
    }

    @Test("NVMe native multipath: the head disk lives outside the PCI device and is found through multipath/")
    func multipath() throws {
        let host = FixtureLayout.desktop.build()
        host.addMultipathNamespace(
            "nvme0n1", pathName: "nvme0c0n1", subsystem: "nvme-subsys0", on: Self.nvme, controller: "nvme0", dev: "259:0",
            partitions: [("nvme0n1p1", "259:1")])
        host.mount(dev: "259:1", source: "/dev/nvme0n1p1", at: "/mnt")
        #expect(try uses(host, [Self.nvme]).map(\.what) == ["nvme0n1p1 is mounted on /mnt"])
    }

    @Test("a SATA disk deep below an HBA")
    func sata() throws {
        let host = FixtureLayout.desktop.build()
        host.addDisk("sda", on: Self.nic, subpath: "ata1/host0/target0:0:0/0:0:0:0/block", dev: "8:0", partitions: [("sda1", "8:1")])
        host.mount(dev: "8:1", source: "/dev/sda1", at: "/boot")
        #expect(try uses(host, [Self.nic]).map(\.what) == ["sda1 is mounted on /boot"])
    }

    struct NetCase: Sendable, CustomTestStringConvertible {
        let name: String
        let up: Bool
        var route: Bool = false
        var globalIPv6: Bool = false
        var linkLocal: Bool = false
        let inUse: Bool
        var testDescription: String { name }
    }

    @Test(
        "network interfaces: in use when up with an address or a route",
        arguments: [
            NetCase(name: "up with an IPv4 prefix route", up: true, route: true, inUse: true),
            NetCase(name: "up with a global IPv6 address", up: true, globalIPv6: true, inUse: true),
            NetCase(name: "up with only a link-local address", up: true, linkLocal: true, inUse: false),
            NetCase(name: "up, nothing configured", up: true, inUse: false),
            NetCase(name: "down, with addresses", up: false, route: true, globalIPv6: true, inUse: false),
        ])
    func network(_ c: NetCase) throws {
        let host = FixtureLayout.desktop.build()
        host.addNetworkInterface("enp6s0", on: Self.nic, up: c.up)
        // Another interface's configuration must not count.
        host.addNetworkInterface("enp5s0", on: PCIAddress("05:00.0")!, up: true)
        host.addIPv4Route(interface: "enp5s0", destination: (192, 168, 1, 0), prefix: 24)
        if c.route { host.addIPv4Route(interface: "enp6s0", destination: (10, 0, 2, 0), prefix: 24) }
        if c.globalIPv6 { host.addIPv6Address(interface: "enp6s0", hex32: "fd000000000000000000000000000001", prefix: 64, scope: 0) }
        if c.linkLocal { host.addIPv6Address(interface: "enp6s0", hex32: "fe80000000000000505400fffe123456", prefix: 64, scope: 0x20) }
        let found = try uses(host, [Self.nic])
        #expect(found.isEmpty == !c.inUse)
        if c.inUse {
            #expect(found.first?.kind == .networkInterface)
            #expect(found.first?.remedy == "ip link set enp6s0 down")
            if c.route { #expect(found.first?.what.contains("route 10.0.2.0/24") == true) }
            if c.globalIPv6 { #expect(found.first?.what.contains("address fd00::1/64") == true) }
        }
    }

    @Test("a framebuffer on the GPU, with the bound framebuffer console")
    func framebuffer() throws {
        let host = FixtureLayout.desktop.build()
        host.addFramebuffer(index: 0, on: Self.gpu, name: "nouveaudrmfb")
        let found = try uses(host, [Self.gpu, PCIAddress("01:00.1")!])
        #expect(found.map(\.kind) == [.framebuffer])
        #expect(found.first?.address == Self.gpu)
        #expect(found.first?.what.contains("fb0 (nouveaudrmfb)") == true)
        #expect(found.first?.remedy.contains("/sys/class/vtconsole/vtcon1/bind") == true)
    }
}
