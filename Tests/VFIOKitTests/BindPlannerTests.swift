import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

/// The planner is pure: these feed it the desktop layout's inventory (read once) and plain
/// values for kernel facts and host uses.
@Suite("Bind planner")
struct BindPlannerTests {
    static let inventory: HostInventory = {
        let host = FixtureLayout.desktop.build()
        do {
            return try InventoryReader(root: host.root, database: nil).read()
        } catch {
            fatalError("cannot read the desktop fixture: \(error)")
        }
    }()
    static let loaded = BindEnvironment(noiommuEnabled: false, loadedDrivers: ["vfio-pci", "pci-stub", "igb", "nouveau"])

    static func a(_ text: String) -> PCIAddress { PCIAddress(text)! }

    /// The fixture's inventory with one device changed.
    static func inventory(changing address: String, _ change: (inout PCIDevice) -> Void) throws -> HostInventory {
        var devices = inventory.devices
        let index = try #require(devices.firstIndex { $0.address == a(address) })
        change(&devices[index])
        return HostInventory(devices: devices, groups: inventory.groups, iommuEnabled: true)
    }

    static func plan(
        _ targets: [String], group: Bool = false, force: Bool = false, driver: String = "vfio-pci", uses: [DeviceUse] = [],
        environment: BindEnvironment = loaded, inventory: HostInventory = inventory
    ) throws -> BindDecision {
        let request = BindRequest(targets: try targets.map { try Target(parsing: $0) }, driver: driver, wholeGroup: group, force: force)
        return try BindPlanner.plan(request, inventory: inventory, environment: environment, uses: uses)
    }

    /// Plans that go through: which devices move (and why), which stay.
    struct Accepted: Sendable, CustomTestStringConvertible {
        let name: String
        let targets: [String]
        var group = false
        var force = false
        let moves: [String: DeviceMove.Reason]
        var kept: [String: DeviceKept.Reason] = [:]
        var testDescription: String { name }
    }

    static let accepted: [Accepted] = [
        Accepted(name: "a NIC alone in its group", targets: ["05:00.0"], moves: ["0000:05:00.0": .requested]),
        Accepted(
            name: "--group takes the GPU's audio function, the root port stays", targets: ["01:00.0"], group: true, force: true,
            moves: ["0000:01:00.0": .requested, "0000:01:00.1": .groupPeer], kept: ["0000:00:01.0": .bridge]),
        Accepted(
            name: "--group behind a conventional bridge: both devices move, the unbound bridge stays", targets: ["08:01.0"], group: true,
            moves: ["0000:08:00.0": .groupPeer, "0000:08:01.0": .requested], kept: ["0000:00:1e.0": .bridge]),
        Accepted(
            name: "naming every blocker is enough without --group", targets: ["08:00.0", "08:01.0"],
            moves: ["0000:08:00.0": .requested, "0000:08:01.0": .requested], kept: ["0000:00:1e.0": .bridge]),
        Accepted(
            name: "group:N takes every endpoint, unbound ones too", targets: ["group:12"],
            moves: ["0000:00:1f.0": .requested, "0000:00:1f.3": .requested, "0000:00:1f.4": .requested, "0000:00:1f.5": .requested]),
        Accepted(
            name: "group:N leaves its bridge", targets: ["group:25"],
            moves: ["0000:08:00.0": .requested, "0000:08:01.0": .requested], kept: ["0000:00:1e.0": .bridge]),
        Accepted(
            name: "ids select every matching function, each once", targets: ["8086:1533", "05:00.0"],
            moves: ["0000:05:00.0": .requested, "0000:06:00.0": .requested]),
        Accepted(
            name: "already bound: nothing moves", targets: ["07:02.1"], moves: [:], kept: ["0000:07:02.1": .alreadyBound]),
        Accepted(name: "a VF on a host driver", targets: ["07:02.0"], moves: ["0000:07:02.0": .requested]),
    ]

    @Test("accepted plans", arguments: accepted)
    func acceptedPlans(_ c: Accepted) throws {
        guard case .plan(let plan) = try Self.plan(c.targets, group: c.group, force: c.force) else {
            Issue.record("refused")
            return
        }
        #expect(Dictionary(uniqueKeysWithValues: plan.moves.map { ($0.address.description, $0.reason) }) == c.moves)
        for (address, reason) in c.kept {
            #expect(plan.kept.first { $0.address.description == address }?.reason == reason, "\(address)")
        }
        // Moves come in address order, each ending on vfio-pci with its override set.
        #expect(plan.moves.map(\.address) == plan.moves.map(\.address).sorted())
        for move in plan.moves {
            #expect(move.to == DriverState(driver: "vfio-pci", override: "vfio-pci"))
            #expect(move.steps.last == .verify(move.address, driver: "vfio-pci"))
        }
        #expect(plan.isNoOp == c.moves.isEmpty)
    }

    @Test("the exact writes for one device, in kernel order")
    func exactWrites() throws {
        guard case .plan(let plan) = try Self.plan(["05:00.0"]) else {
            Issue.record("refused")
            return
        }
        #expect(plan.loadModule == nil)
        #expect(
            plan.steps == [
                .write(.setOverride(Self.a("05:00.0"), to: "vfio-pci")),
                .write(.unbind(Self.a("05:00.0"), from: "igb")),
                .write(.probe(Self.a("05:00.0"))),
                .verify(Self.a("05:00.0"), driver: "vfio-pci"),
            ])
        #expect(plan.groups == [19])
    }

    @Test("modprobe comes first when the driver's directory is missing, and only when something moves")
    func moduleLoad() throws {
        let bare = BindEnvironment(noiommuEnabled: false, loadedDrivers: ["igb"])
        guard case .plan(let plan) = try Self.plan(["05:00.0"], environment: bare) else {
            Issue.record("refused")
            return
        }
        #expect(plan.loadModule == "vfio-pci")
        #expect(plan.steps.first == .loadModule("vfio-pci"))
        guard case .plan(let noop) = try Self.plan(["07:02.1"], environment: bare) else {
            Issue.record("refused")
            return
        }
        #expect(noop.loadModule == nil)
        #expect(noop.steps.isEmpty)
    }

    /// Refusals: what kind, for which device.
    struct Refused: Sendable, CustomTestStringConvertible {
        let name: String
        let targets: [String]
        var group = false
        var force = false
        var uses: [DeviceUse] = []
        let reasons: [(BindRefusal.Reason.Kind, String)]
        var testDescription: String { name }
    }

    static let mounted = DeviceUse(address: a("02:00.0"), kind: .mountedFilesystem, what: "nvme0n1p2 is mounted on /home", remedy: "umount /home")
    static let rootFS = DeviceUse(
        address: a("02:00.0"), kind: .rootFilesystem, what: "nvme0n1p1 holds the root filesystem (/)", remedy: "cannot", forceable: false)
    static let netUp = DeviceUse(address: a("06:00.0"), kind: .networkInterface, what: "eth1 is up", remedy: "ip link set eth1 down")

    static let refused: [Refused] = [
        Refused(
            name: "the GPU alone: its audio function blocks the group, and it is the boot display", targets: ["01:00.0"],
            reasons: [(.groupNotViable, "0000:01:00.1"), (.inUse, "0000:01:00.0")]),
        Refused(name: "--group still needs --force for the boot display", targets: ["01:00.0"], group: true, reasons: [(.inUse, "0000:01:00.0")]),
        Refused(name: "one device behind the conventional bridge", targets: ["08:01.0"], reasons: [(.groupNotViable, "0000:08:00.0")]),
        Refused(name: "a PCIe root port", targets: ["00:1c.0"], reasons: [(.bridge, "0000:00:1c.0")]),
        Refused(name: "a bridge named by its ids", targets: ["8086:244e"], reasons: [(.bridge, "0000:00:1e.0")]),
        Refused(name: "chipset audio without its group", targets: ["00:1f.3"], reasons: [(.groupNotViable, "0000:00:1f.4"), (.groupNotViable, "0000:00:1f.5")]),
        Refused(name: "an SR-IOV PF with VFs enabled", targets: ["07:00.0"], reasons: [(.inUse, "0000:07:00.0")]),
        Refused(name: "an SR-IOV PF with VFs enabled, even with --force (vfio-pci refuses it)", targets: ["07:00.0"], force: true, reasons: [(.inUse, "0000:07:00.0")]),
        Refused(name: "a mounted filesystem", targets: ["02:00.0"], uses: [mounted], reasons: [(.inUse, "0000:02:00.0")]),
        Refused(name: "the root filesystem, even with --force", targets: ["02:00.0"], force: true, uses: [rootFS], reasons: [(.inUse, "0000:02:00.0")]),
        Refused(name: "an interface that is up", targets: ["06:00.0"], uses: [netUp], reasons: [(.inUse, "0000:06:00.0")]),
        Refused(
            name: "host use of a group peer counts too", targets: ["01:00.1"], group: true,
            uses: [DeviceUse(address: a("01:00.0"), kind: .framebuffer, what: "fb0", remedy: "x")], reasons: [(.inUse, "0000:01:00.0"), (.inUse, "0000:01:00.0")]),
    ]

    @Test("refusals name each blocking device", arguments: refused)
    func refusals(_ c: Refused) throws {
        guard case .refused(let refusal) = try Self.plan(c.targets, group: c.group, force: c.force, uses: c.uses) else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.reasons.map(\.kind) == c.reasons.map(\.0))
        #expect(refusal.reasons.map(\.address.description) == c.reasons.map(\.1))
        #expect(VFIOError.refused(refusal.message).exitCode == 2)
        for reason in refusal.reasons {
            #expect(reason.message.contains(reason.address.description))
            #expect(!reason.remedy.isEmpty)
        }
    }

    @Test("a non-viable refusal names the blocker's driver and the command that works")
    func nonViableMessage() throws {
        guard case .refused(let refusal) = try Self.plan(["08:01.0"]) else {
            Issue.record("not refused")
            return
        }
        let reason = try #require(refusal.reasons.first)
        #expect(reason.driver == "firewire_ohci")
        #expect(reason.message == "group 25 would not be viable: 0000:08:00.0 stays on host driver firewire_ohci, which uses the DMA API")
        #expect(reason.remedy == "bind the whole group: vfioctl bind --group 0000:08:01.0")
    }

    @Test("--force overrides forceable uses and reports them; never the root filesystem")
    func force() throws {
        guard case .plan(let plan) = try Self.plan(["02:00.0"], force: true, uses: [Self.mounted]) else {
            Issue.record("refused")
            return
        }
        #expect(plan.forced == [Self.mounted])
        #expect(plan.warnings.contains { $0.contains("nvme0n1p2 is mounted on /home") })
        guard case .refused = try Self.plan(["02:00.0"], force: true, uses: [Self.mounted, Self.rootFS]) else {
            Issue.record("root filesystem not refused")
            return
        }
    }

    @Test("a bridge on a host DMA driver blocks its group even with --group")
    func hostDriverBridge() throws {
        let inventory = try Self.inventory(changing: "00:1e.0") { $0.driver = "shpchp" }
        guard case .refused(let refusal) = try Self.plan(["08:01.0"], group: true, inventory: inventory) else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.reasons.map(\.address) == [Self.a("00:1e.0")])
        #expect(refusal.reasons[0].remedy.contains("echo 0000:00:1e.0 > /sys/bus/pci/drivers/shpchp/unbind"))
    }

    @Test("moving between VFIO drivers while the device is open is refused even with --force")
    func openVFIO() throws {
        let inventory = try Self.inventory(changing: "07:02.1") { $0.enableCount = 1 }
        let environment = BindEnvironment(noiommuEnabled: false, loadedDrivers: ["vfio-pci", "iavf_vfio_pci"])
        guard case .refused(let refusal) = try Self.plan(["07:02.1"], force: true, driver: "iavf_vfio_pci", environment: environment, inventory: inventory)
        else {
            Issue.record("not refused")
            return
        }
        #expect(refusal.reasons.first?.use?.kind == .openVFIODevice)
        // Closed: it moves, from vfio-pci to the variant.
        guard case .plan(let plan) = try Self.plan(["07:02.1"], driver: "iavf_vfio_pci", environment: environment) else {
            Issue.record("refused")
            return
        }
        #expect(plan.moves.first?.steps.first == .write(.setOverride(Self.a("07:02.1"), to: "iavf_vfio_pci")))
        #expect(plan.moves.first?.steps.dropFirst().first == .write(.unbind(Self.a("07:02.1"), from: "vfio-pci")))
    }

    @Test("no IOMMU group: unavailable (69) unless no-IOMMU mode is on")
    func noGroup() throws {
        let error = #expect(throws: VFIOError.self) { try Self.plan(["00:08.0"]) }
        #expect(error?.exitCode == 69)
        #expect(error?.message.contains("enable_unsafe_noiommu_mode") == true)
        let environment = BindEnvironment(noiommuEnabled: true, loadedDrivers: ["vfio-pci"])
        guard case .plan(let plan) = try Self.plan(["00:08.0"], environment: environment) else {
            Issue.record("refused")
            return
        }
        #expect(plan.moves.map(\.address) == [Self.a("00:08.0")])
        #expect(plan.warnings.contains { $0.contains("no-IOMMU") })
    }

    @Test(
        "bad input is a usage error (64) or unavailable (69), before anything is planned",
        arguments: [
            (["05:00.0"], "nouveau", Int32(64)), (["05:00.0"], "../vfio-pci", 64), (["05:00.0"], "", 64), (["05:00.0"], "vfio pci", 64),
            (["09:00.0"], "vfio-pci", 69), (["group:99"], "vfio-pci", 69), (["dead:beef"], "vfio-pci", 69),
        ])
    func badInput(targets: [String], driver: String, code: Int32) throws {
        let error = #expect(throws: VFIOError.self) { try Self.plan(targets, driver: driver) }
        #expect(error?.exitCode == code)
    }

    @Test("an already-bound device in a non-viable group: nothing to do, with a warning naming the blocker")
    func alreadyBoundWarning() throws {
        let inventory = try Self.inventory(changing: "08:01.0") {
            $0.driver = "vfio-pci"
            $0.vfioDeviceName = "vfio3"
        }
        guard case .plan(let plan) = try Self.plan(["08:01.0"], inventory: inventory) else {
            Issue.record("refused")
            return
        }
        #expect(plan.isNoOp)
        #expect(plan.warnings == ["group 25 is not viable: 0000:08:00.0 is on host driver firewire_ohci; 'vfioctl bind --group 0000:08:01.0' moves it"])
        guard case .plan(let grouped) = try Self.plan(["08:01.0"], group: true, inventory: inventory) else {
            Issue.record("refused")
            return
        }
        #expect(grouped.moves.map(\.address) == [Self.a("08:00.0")])
    }

    @Test("affected devices: the named ones and every member of their groups")
    func affected() throws {
        let request = BindRequest(targets: [.address(Self.a("01:00.0")), .address(Self.a("05:00.0"))])
        let devices = try BindPlanner.affectedDevices(request, inventory: Self.inventory)
        #expect(devices.map(\.address.description) == ["0000:00:01.0", "0000:01:00.0", "0000:01:00.1", "0000:05:00.0"])
    }
}
