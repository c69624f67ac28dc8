import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

@Suite("Reading only the fields a view needs")
struct InventoryFieldsTests {
    /// Every combination of the reader's field options.
    static let fieldSets: [InventoryReader.Fields] = (0..<16).map { InventoryReader.Fields(rawValue: $0) }

    /// What a reader asked for `fields` must give: the full read's device with every fact
    /// outside `fields` at its default.
    static func project(_ full: PCIDevice, onto fields: InventoryReader.Fields) -> PCIDevice {
        var d = PCIDevice(
            address: full.address, vendorID: full.vendorID, deviceID: full.deviceID, classCode: full.classCode, driver: full.driver,
            iommuGroup: full.iommuGroup)
        d.vfioDeviceName = full.vfioDeviceName
        d.driverctlOverride = full.driverctlOverride
        d.names = PCIDevice.Names(vendor: full.names.vendor, device: full.names.device, className: full.names.className)
        if fields.contains(.attributes) {
            d.subsystemVendorID = full.subsystemVendorID
            d.subsystemDeviceID = full.subsystemDeviceID
            d.revision = full.revision
            d.headerType = full.headerType
            d.multiFunction = full.multiFunction
            d.driverOverride = full.driverOverride
            d.numaNode = full.numaNode
            d.resetMethods = full.resetMethods
            d.bootVGA = full.bootVGA
            d.enableCount = full.enableCount
            d.names.subsystem = full.names.subsystem
        }
        if fields.contains(.topology) {
            d.parent = full.parent
            d.physicalFunction = full.physicalFunction
            d.sriov = full.sriov
        }
        return d
    }

    static func check(_ host: FixtureHost, _ fields: InventoryReader.Fields) throws {
        let database = PCIDatabase(root: host.root)
        let full = try InventoryReader(root: host.root, database: database).read()
        let reduced = try InventoryReader(root: host.root, database: database, fields: fields).read()
        #expect(reduced.devices == full.devices.map { project($0, onto: fields) }, "fields \(fields.rawValue)")
        #expect(reduced.iommuEnabled == full.iommuEnabled)
        if fields.contains(.groupDetails) {
            #expect(reduced.groups == full.groups, "fields \(fields.rawValue)")
        } else {
            #expect(reduced.groups.mapValues(\.members) == full.groups.mapValues(\.members), "fields \(fields.rawValue)")
            #expect(reduced.groups.values.allSatisfy { $0.type == nil && $0.reservedRegions.isEmpty && $0.otherMembers.isEmpty })
        }
        #expect(reduced.vfioAliases == (fields.contains(.vfioDrivers) ? full.vfioAliases : nil), "fields \(fields.rawValue)")
        for id in full.groups.keys {
            #expect(reduced.viability(of: reduced.groups[id]!) == full.viability(of: full.groups[id]!), "group \(id)")
        }
    }

    @Test("every field set reads the full read's facts for its fields and defaults for the rest", arguments: FixtureLayout.allCases)
    func everyFieldSet(_ layout: FixtureLayout) throws {
        let host = layout.build()
        for fields in Self.fieldSets { try Self.check(host, fields) }
    }

    /// The layout's tree with a `uevent` in every device directory, as the kernel prints it
    /// (the driver line only when bound).
    static func withUevents(_ host: FixtureHost) throws {
        for (address, spec) in host.specs {
            func hex(_ v: UInt32, _ w: Int) -> String { hexString(v, width: w).uppercased() }
            let dir = try #require(host.devicePath(address))
            let text =
                (host.driver(of: address).map { "DRIVER=\($0)\n" } ?? "") + "PCI_CLASS=" + String(spec.classCode, radix: 16).uppercased() + "\n"
                + "PCI_ID=" + hex(UInt32(spec.vendor), 4) + ":" + hex(UInt32(spec.device), 4) + "\n"
                + "PCI_SUBSYS_ID=" + hex(UInt32(spec.subsystemVendor), 4) + ":" + hex(UInt32(spec.subsystemDevice), 4) + "\n"
                + "PCI_SLOT_NAME=" + address.description + "\n"
            host.write(String(dir.dropFirst(host.path.count)) + "/uevent", text)
        }
    }

    @Test("every field set on trees whose devices have uevent files", arguments: FixtureLayout.allCases)
    func everyFieldSetWithUevents(_ layout: FixtureLayout) throws {
        let host = layout.build()
        let without = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        try Self.withUevents(host)
        let with = try InventoryReader(root: host.root, database: PCIDatabase(root: host.root)).read()
        #expect(with.devices == without.devices)
        for fields in Self.fieldSets { try Self.check(host, fields) }
    }

    @Test("reads the directory listing leaves out equal reads that try every attribute", arguments: FixtureLayout.allCases)
    func listingDecidesNothingElse(_ layout: FixtureLayout) throws {
        let host = layout.build()
        for uevents in [false, true] {
            if uevents { try Self.withUevents(host) }
            for fields in Self.fieldSets {
                let listed = try InventoryReader(root: host.root, database: nil, fields: fields).read()
                var tryingAll = InventoryReader(root: host.root, database: nil, fields: fields)
                tryingAll.listsDeviceDirectories = false
                let tried = try tryingAll.read()
                #expect(listed.devices == tried.devices, "fields \(fields.rawValue), uevent \(uevents)")
                #expect(listed.groups == tried.groups, "fields \(fields.rawValue), uevent \(uevents)")
            }
        }
    }

    @Test("a function's group comes from the groups' listings, or from its link when no listing names it")
    func groupFromListingOrLink() throws {
        let host = FixtureLayout.desktop.build()
        let full = try InventoryReader(root: host.root, database: nil).read()
        let device = try #require(full.devices.first { $0.iommuGroup != nil })
        let id = try #require(device.iommuGroup)
        // The group's entry for the function goes (as if the group changed mid-read): the link answers.
        let entry = "/sys/kernel/iommu_groups/\(id)/devices/\(device.address)"
        #expect(unlink(host.path + entry) == 0)
        let read = try InventoryReader(root: host.root, database: nil).read()
        #expect(read.device(device.address)?.iommuGroup == id)
        #expect(read.groups[id]?.members.contains(device.address) == false)
    }

    @Test("a device directory's listing names the attributes that exist")
    func entries() throws {
        let host = FixtureLayout.desktop.build()
        for address in host.specs.keys {
            let path = host.root.device(address)
            guard let dir = SysfsDirectory(path), let entries = DeviceEntries(listing: dir) else {
                Issue.record("cannot list \(path)")
                continue
            }
            for name in DeviceEntries.Name.allCases {
                #expect(entries.has(name) == Sysfs.exists(path + "/" + name.fileName.description), "\(address) \(name)")
            }
            let links = (Sysfs.list(path) ?? []).filter { $0.hasPrefix("virtfn") }.sorted()
            #expect(entries.virtualFunctionLinks.map { $0.1 }.sorted() == links, "\(address)")
        }
    }

    @Test("listing a directory larger than one getdents64 buffer", arguments: [0, 1, 40, 700, 3000])
    func largeListing(_ count: Int) {
        let host = FixtureLayout.desktop.build()
        let dir = host.path + "/many"
        #expect(mkdir(dir, 0o755) == 0)
        for i in 0..<count { host.write("/many/entry-with-a-longer-name-\(i)", "") }
        guard let open = SysfsDirectory(host.path) else {
            Issue.record("cannot open \(host.path)")
            return
        }
        #expect(open.list("many")?.sorted() == (0..<count).map { "entry-with-a-longer-name-\($0)" }.sorted())
        #expect(open.list("missing") == nil)
    }

    @Test(
        "the upstream component of a bus link",
        arguments: [
            ("../../../devices/pci0000:00/0000:00:01.0/0000:01:00.0", "0000:00:01.0"), ("../../../devices/pci0000:00/0000:00:02.0", "pci0000:00"),
            ("a//b//", "a"), ("0000:01:00.0", nil), ("/x", nil), ("", nil),
        ])
    func parentComponent(_ target: String, _ expected: String?) {
        #expect(InventoryReader.parentComponent(target).map(String.init) == expected)
    }
}
