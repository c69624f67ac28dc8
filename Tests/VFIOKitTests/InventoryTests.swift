import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOParallel
import VFIOTestSupport
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

@Suite("Reading the host model from fixture trees")
struct InventoryTests {
    @Test("groups, members, drivers and verdicts match the layout's truth", arguments: FixtureLayout.allCases)
    func matchesTruth(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let truth = layout.truth
        let inventory = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        #expect(inventory.devices.count == truth.deviceCount)
        var facts = LayoutFacts(iommuEnabled: inventory.iommuEnabled, devices: [:], groups: [:])
        for device in inventory.devices {
            facts.devices[device.address.description] = LayoutFacts.Device(
                driver: device.driver, group: device.iommuGroup, vendor: hexString(UInt32(device.vendorID), width: 4), isBridge: device.isBridge,
                vfioBound: device.isVFIOBound)
        }
        for (id, group) in inventory.groups {
            let verdict = inventory.viability(of: group)
            facts.groups[id] = LayoutFacts.Group(
                members: group.members.map(\.description), blockers: verdict.blockers.map(\.address.description), viable: verdict.viable)
        }
        #expect(facts == layout.expectedFacts(host))
        for device in inventory.devices {
            let spec = try #require(host.specs[device.address])
            #expect(device.deviceID == spec.device && device.classCode == spec.classCode, "\(device.address)")
            #expect(device.parent == spec.parent, "\(device.address)")
        }
        let ungrouped = inventory.devices.filter { $0.iommuGroup == nil }.map(\.address.description)
        if inventory.iommuEnabled { #expect(ungrouped == truth.ungrouped) }
    }

    @Test("a reader asked for fewer fields reads the same core facts and the same group members", arguments: FixtureLayout.allCases)
    func fewerFields(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let full = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        let core = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root), fields: []).read()
        #expect(core.devices.map(\.address) == full.devices.map(\.address))
        for (a, b) in zip(core.devices, full.devices) {
            #expect(a.vendorID == b.vendorID && a.deviceID == b.deviceID && a.classCode == b.classCode)
            #expect(a.driver == b.driver && a.iommuGroup == b.iommuGroup && a.vfioDeviceName == b.vfioDeviceName)
            #expect(a.names.vendor == b.names.vendor && a.names.device == b.names.device && a.names.className == b.names.className)
            #expect(a.names.subsystem == nil && a.subsystemVendorID == nil && a.parent == nil && a.sriov == nil)
        }
        #expect(core.iommuEnabled == full.iommuEnabled)
        #expect(core.groups.keys.sorted() == full.groups.keys.sorted())
        for (id, group) in full.groups {
            #expect(core.groups[id]?.members == group.members, "group \(id)")
            #expect(core.viability(of: core.groups[id]!).viable == full.viability(of: group).viable, "group \(id)")
        }
    }

    @Test("reading with several threads gives the same inventory as one thread", arguments: FixtureLayout.allCases)
    func threaded(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let one = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root), threads: 1).read()
        for threads in [2, 3, 8, 100] {
            let many = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root), threads: threads).read()
            #expect(many.devices == one.devices, "\(threads) threads")
            #expect(many.groups == one.groups, "\(threads) threads")
            let core = try InventoryReader(root: host.root, database: nil, fields: [], threads: threads).read()
            #expect(core.groups.mapValues(\.members) == one.groups.mapValues(\.members), "\(threads) threads")
        }
    }

    @Test(
        "chunks from the shared cursor cover every item once, whatever the split",
        arguments: [(0, 2, 64), (1, 2, 64), (7, 3, 2), (100, 2, 7), (1000, 8, 64), (65, 4, 64)])
    func chunkedCover(count: Int, threads: Int, chunk: Int) {
        var visits = [Int](repeating: 0, count: count)
        var takenBy = [UInt](repeating: 0, count: count)
        visits.withUnsafeMutableBufferPointer { visits in
            takenBy.withUnsafeMutableBufferPointer { takenBy in
                Parallel.forEachChunk(count, threads: threads, chunk: chunk) { range in
                    #expect(range.count <= chunk && !range.isEmpty)
                    for i in range {
                        visits[i] += 1
                        takenBy[i] = UInt(pthread_self())
                    }
                }
            }
        }
        #expect(visits.allSatisfy { $0 == 1 })
        // A chunk is taken whole by one thread.
        for start in stride(from: 0, to: count, by: chunk) {
            #expect(Set(takenBy[start..<min(count, start + chunk)]).count == 1)
        }
    }

    @Test("uevent identity lines: parsed, and malformed lines left to the attributes")
    func ueventParsing() {
        let real = PCIUevent(Array("DRIVER=e1000e\nPCI_CLASS=20000\nPCI_ID=8086:10D3\nPCI_SUBSYS_ID=8086:0000\nPCI_SLOT_NAME=0000:01:00.0\n".utf8))
        #expect(real == PCIUevent(vendor: 0x8086, device: 0x10d3, subsystemVendor: 0x8086, subsystemDevice: 0, classCode: 0x020000, driver: "e1000e"))
        let odd = PCIUevent(Array("PCI_ID=8086\nPCI_SUBSYS_ID=zz:00\nPCI_CLASS=\nPCI_IDX=1:2\nPCI_ID=12345:0001".utf8))
        #expect(odd == PCIUevent())
        #expect(PCIUevent(Array("PCI_CLASS=C0330".utf8)).classCode == 0x0c0330)
    }

    @Test("a tree with uevent files reads the same as one without", arguments: FixtureLayout.allCases)
    func ueventEquivalence(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let without = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        for (address, spec) in host.specs {
            func hex(_ v: UInt32, _ w: Int) -> String { hexString(v, width: w).uppercased() }
            let dir = try #require(host.devicePath(address))
            let text =
                (spec.driver.map { "DRIVER=\($0)\n" } ?? "") + "PCI_CLASS=" + String(spec.classCode, radix: 16).uppercased() + "\n"
                + "PCI_ID=" + hex(UInt32(spec.vendor), 4) + ":" + hex(UInt32(spec.device), 4) + "\n"
                + "PCI_SUBSYS_ID=" + hex(UInt32(spec.subsystemVendor), 4) + ":" + hex(UInt32(spec.subsystemDevice), 4) + "\n"
                + "PCI_SLOT_NAME=" + address.description + "\n"
            host.write(String(dir.dropFirst(host.path.count)) + "/uevent", text)
        }
        let with = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        #expect(with.devices == without.devices)
        // The ids did come from uevent: a planted one shows.
        let first = try #require(host.specs.keys.sorted().first)
        let dir = try #require(host.devicePath(first))
        host.write(String(dir.dropFirst(host.path.count)) + "/uevent", "PCI_ID=1234:5678\n")
        let planted = try InventoryReader(root: host.root, database: nil).read()
        #expect(planted.device(first)?.vendorID == 0x1234 && planted.device(first)?.deviceID == 0x5678)
    }

    @Test("attributes read relative to an open directory equal path-based reads")
    func directoryReads() {
        let host = FixtureLayout.desktop.build()
        let path = host.root.device(PCIAddress("07:00.0")!)
        guard let dir = SysfsDirectory(path) else {
            Issue.record("cannot open \(path)")
            return
        }
        for name in ["vendor", "device", "class", "driver_override", "reset_method", "sriov_vf_device", "missing"] {
            #expect(dir.read(name) == Sysfs.read(path + "/" + name), "\(name)")
            #expect(dir.readHex(name) == Sysfs.readHex(path + "/" + name), "\(name)")
            #expect(dir.readInt(name) == Sysfs.readInt(path + "/" + name), "\(name)")
        }
        #expect(dir.readBytes("config", limit: 64) == Sysfs.readBytes(path + "/config", limit: 64))
        #expect(dir.readBytes("config", limit: 4096) == Sysfs.readBytes(path + "/config", limit: 4096))
        for name in ["driver", "iommu_group", "virtfn0", "missing"] {
            #expect(dir.linkName(name) == Sysfs.linkName(path + "/" + name), "\(name)")
        }
        #expect(dir.list()?.sorted() == Sysfs.list(path)?.sorted())
        #expect(dir.list("missing") == nil)
    }

    @Test("device facts: override, SR-IOV links, reset methods, boot VGA, vfio-dev")
    func deviceFacts() throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        let pf = try #require(inventory.device(PCIAddress("07:00.0")!))
        #expect(pf.sriov?.totalVFs == 64)
        #expect(pf.sriov?.numVFs == 2)
        #expect(pf.sriov?.vfDeviceID == 0x154c)
        #expect(pf.sriov?.virtualFunctions.map(\.description) == ["0000:07:02.0", "0000:07:02.1"])
        let vf = try #require(inventory.device(PCIAddress("07:02.1")!))
        #expect(vf.physicalFunction == pf.address)
        #expect(vf.driverOverride == "vfio-pci")
        #expect(vf.vfioDeviceName == "vfio0")
        let gpu = try #require(inventory.device(PCIAddress("01:00.0")!))
        #expect(gpu.bootVGA == true)
        #expect(gpu.driverOverride == nil)
        #expect(gpu.multiFunction)
        #expect(gpu.revision == 0xa1)
        #expect(gpu.subsystemVendorID == 0x1043)
        #expect(gpu.resetMethods == ["flr", "bus"])
        let hostBridge = try #require(inventory.device(PCIAddress("00:00.0")!))
        #expect(hostBridge.resetMethods == nil)
        let group = try #require(inventory.groups[1])
        #expect(group.type == "DMA")
        #expect(group.reservedRegions == [.init(start: 0xfee0_0000, end: 0xfeef_ffff, type: "msi")])
    }

    @Test("names come from libpci's ID database")
    func names() throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        let gpu = try #require(inventory.device(PCIAddress("01:00.0")!))
        #expect(gpu.names.vendor == "NVIDIA Corporation")
        #expect(gpu.names.device == "GA102 [GeForce RTX 3090]")
        #expect(gpu.names.className == "VGA compatible controller")
        let nvme = try #require(inventory.device(PCIAddress("02:00.0")!))
        #expect(nvme.names.vendor == "Samsung Electronics Co Ltd")
        #expect(nvme.names.className == "Non-Volatile memory controller")
    }

    @Test("libpci reads the fixture's config space as it reads a host")
    func configSpace() throws {
        let host = FixtureLayout.desktop.build()
        let database = try #require(PCIDatabase(root: host.root))
        let config = try #require(database.configSpace(PCIAddress("01:00.0")!, length: 64))
        #expect(config[0] == 0xde && config[1] == 0x10 && config[2] == 0x04 && config[3] == 0x22)
        #expect(database.configSpace(PCIAddress("0000:7f:00.0")!) == nil)
    }

    @Test("targets resolve to functions, and missing ones are unavailable (69)")
    func resolve() throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        #expect(try inventory.resolve(.group(12)).count == 4)
        #expect(try inventory.resolve(.ids(vendor: 0x8086, device: 0x1533)).map(\.address.description) == ["0000:05:00.0", "0000:06:00.0"])
        #expect(throws: VFIOError.self) { try inventory.resolve(.group(99)) }
        do {
            _ = try inventory.resolve(.address(PCIAddress("0000:7f:1f.7")!))
            Issue.record("expected an error")
        } catch {
            #expect(error.exitCode == 69)
        }
    }
}
