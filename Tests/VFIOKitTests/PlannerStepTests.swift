import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

/// The planners' steps, one at a time, on hand-made devices. The whole plans are judged by
/// BindPlannerTests and the command tests; these pin the rules of each step.
@Suite("Planner steps")
struct PlannerStepTests {
    static let address = PCIAddress("0000:03:00.0")!

    static func device(driver: String?, bridge: Bool = false, group: Int? = 7) -> PCIDevice {
        PCIDevice(
            address: address, vendorID: 0x8086, deviceID: 0x1234, classCode: bridge ? 0x060400 : 0x020000, headerType: bridge ? 1 : 0,
            driver: driver, iommuGroup: group)
    }

    static func kept(_ driver: String?, _ reason: DeviceKept.Reason) -> BindPlanner.Verdict {
        .keep(DeviceKept(address: address, group: 7, driver: driver, reason: reason))
    }

    @Test("only group:N names a whole group", arguments: [("group:3", true), ("0000:01:00.0", false), ("10de:2204", false)])
    func isGroup(_ text: String, _ expected: Bool) throws {
        #expect(try Target(parsing: text).isGroup == expected)
    }

    struct Named: Sendable, CustomTestStringConvertible {
        let name: String
        let driver: String?
        var bridge = false
        let fromGroup: Bool
        let verdict: BindPlanner.Verdict
        var testDescription: String { name }
    }

    static let named: [Named] = [
        Named(name: "already on the driver", driver: "vfio-pci", fromGroup: false, verdict: kept("vfio-pci", .alreadyBound)),
        Named(name: "a bridge in a named group stays", driver: "pcieport", bridge: true, fromGroup: true, verdict: kept("pcieport", .bridge)),
        Named(name: "pci-stub in a named group stays", driver: "pci-stub", fromGroup: true, verdict: kept("pci-stub", .dmaManaged)),
        Named(name: "pci-stub named by address moves", driver: "pci-stub", fromGroup: false, verdict: .move(.requested)),
        Named(name: "another VFIO driver in a named group stays", driver: "mlx5_vfio_pci", fromGroup: true, verdict: kept("mlx5_vfio_pci", .otherVFIODriver)),
        Named(name: "a host driver moves", driver: "e1000e", fromGroup: true, verdict: .move(.requested)),
        Named(name: "unbound moves", driver: nil, fromGroup: false, verdict: .move(.requested)),
    ]

    @Test("a named device's verdict", arguments: named)
    func namedVerdict(_ c: Named) throws {
        let device = Self.device(driver: c.driver, bridge: c.bridge)
        #expect(try BindPlanner.namedVerdict(device, fromGroup: c.fromGroup, driver: "vfio-pci", noiommuEnabled: false) == c.verdict)
    }

    @Test("a bridge named by address is refused")
    func namedBridge() throws {
        let verdict = try BindPlanner.namedVerdict(Self.device(driver: nil, bridge: true), fromGroup: false, driver: "vfio-pci", noiommuEnabled: false)
        guard case .refuse(let reason) = verdict else {
            Issue.record("not refused: \(verdict)")
            return
        }
        #expect(reason.kind == .bridge)
        #expect(reason.line == "0000:03:00.0 is a PCI bridge (header type 1): vfio-pci only binds endpoints (header type 0); bind the devices behind it instead")
    }

    @Test("no IOMMU group: moves with a warning in no-IOMMU mode, unavailable without it")
    func namedWithoutGroup() throws {
        let device = Self.device(driver: "e1000e", group: nil)
        let verdict = try BindPlanner.namedVerdict(device, fromGroup: false, driver: "vfio-pci", noiommuEnabled: true)
        #expect(verdict == .move(.requested, warning: "0000:03:00.0 has no IOMMU group: it will use vfio's unsafe no-IOMMU mode (no DMA isolation; taints the kernel)"))
        #expect(throws: VFIOError.self) { try BindPlanner.namedVerdict(device, fromGroup: false, driver: "vfio-pci", noiommuEnabled: false) }
    }

    struct Peer: Sendable, CustomTestStringConvertible {
        let name: String
        let driver: String?
        var bridge = false
        var wholeGroup = false
        let groupMoves: Bool
        let verdict: BindPlanner.Verdict
        var testDescription: String { name }
    }

    static let bridgeMessage =
        "group 7 would not be viable: bridge 0000:03:00.0 is bound to shpchp, which uses the DMA API, and vfio-pci cannot take bridges"
    static let bridgeRemedy = "unbind it (echo 0000:03:00.0 > /sys/bus/pci/drivers/shpchp/unbind) or bind it to pci-stub"

    static let peers: [Peer] = [
        Peer(name: "unbound endpoint", driver: nil, groupMoves: true, verdict: kept(nil, .unbound)),
        Peer(name: "unbound bridge", driver: nil, bridge: true, groupMoves: true, verdict: kept(nil, .bridge)),
        Peer(name: "pcieport bridge", driver: "pcieport", bridge: true, groupMoves: true, verdict: kept("pcieport", .bridge)),
        Peer(name: "pci-stub endpoint", driver: "pci-stub", groupMoves: true, verdict: kept("pci-stub", .dmaManaged)),
        Peer(name: "on vfio-pci", driver: "vfio-pci", groupMoves: true, verdict: kept("vfio-pci", .otherVFIODriver)),
        Peer(name: "host endpoint with --group moves", driver: "e1000e", wholeGroup: true, groupMoves: true, verdict: .move(.groupPeer)),
        Peer(
            name: "host endpoint blocks a moving group", driver: "e1000e", groupMoves: true,
            verdict: .refuse(
                .init(
                    kind: .groupNotViable, address: address, group: 7, driver: "e1000e",
                    message: "group 7 would not be viable: 0000:03:00.0 stays on host driver e1000e, which uses the DMA API",
                    remedy: "bind the whole group: vfioctl bind --group 0000:05:00.0"))),
        Peer(
            name: "host endpoint in a group where nothing moves: a warning", driver: "e1000e", groupMoves: false,
            verdict: .warn("group 7 is not viable: 0000:03:00.0 is on host driver e1000e; 'vfioctl bind --group 0000:05:00.0' moves it")),
        Peer(
            name: "host bridge blocks even --group", driver: "shpchp", bridge: true, wholeGroup: true, groupMoves: true,
            verdict: .refuse(.init(kind: .groupNotViable, address: address, group: 7, driver: "shpchp", message: bridgeMessage, remedy: bridgeRemedy))),
        Peer(
            name: "host bridge in a group where nothing moves: a warning", driver: "shpchp", bridge: true, groupMoves: false,
            verdict: .warn(
                "group 7 is not viable: bridge 0000:03:00.0 is bound to shpchp, which uses the DMA API, and vfio-pci cannot take bridges; " + bridgeRemedy)),
    ]

    @Test("an unnamed group member's verdict", arguments: peers)
    func peerVerdict(_ c: Peer) throws {
        let request = BindRequest(targets: [.address(PCIAddress("0000:05:00.0")!)], wholeGroup: c.wholeGroup)
        let verdict = BindPlanner.peerVerdict(
            Self.device(driver: c.driver, bridge: c.bridge), group: 7, request: request, groupMoves: c.groupMoves, retry: BindPlanner.retryCommand(request))
        #expect(verdict == c.verdict)
    }

    @Test("a device kept once stays kept as first classified")
    func keepOnce() {
        var draft = BindPlanner.Draft()
        draft.apply(Self.kept("pcieport", .bridge), to: Self.address)
        draft.apply(Self.kept(nil, .unbound), to: Self.address)
        #expect(draft.kept[Self.address]?.reason == .bridge)
    }

    // MARK: - Release

    static func record(_ original: String?) -> DeviceRecord {
        DeviceRecord(address: address, group: 7, originalDriver: original, originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: FixtureClock.time)
    }

    enum Outcome: Equatable, Sendable {
        case move(to: String?, ReleaseMove.Source)
        case keep(ReleaseKept.Reason)
        case refuse(ReleaseRefusal.Reason.Kind)

        init(_ verdict: ReleasePlanner.Verdict) {
            switch verdict {
            case .move(let move): self = .move(to: move.to.driver, move.source)
            case .keep(let reason, _): self = .keep(reason)
            case .refuse(let reason): self = .refuse(reason.kind)
            }
        }
    }

    @Test(
        "unbind of a device off VFIO: only an unbound one with somewhere to go moves",
        arguments: [
            (nil as String?, ReleaseDestination.driver("e1000e"), nil as String?, Outcome.move(to: "e1000e", .requested)),
            ("e1000e", .driver("e1000e"), nil, .keep(.alreadyReleased)),
            ("igb", .driver("e1000e"), nil, .refuse(.hostDriver)),
            (nil, ReleaseDestination.none, nil, .keep(.alreadyReleased)),
            ("e1000e", ReleaseDestination.none, nil, .refuse(.hostDriver)),
            (nil, .recorded, "e1000e", .move(to: "e1000e", .recorded)),
            (nil, .recorded, nil, .keep(.alreadyReleased)),
            ("e1000e", .recorded, "e1000e", .keep(.alreadyReleased)),
        ])
    func offVFIO(_ current: String?, _ destination: ReleaseDestination, _ original: String?, _ expected: Outcome) {
        let record = original.map { Self.record($0) }
        let verdict = ReleasePlanner.offVFIOVerdict(Self.device(driver: current), reason: .requested, destination: destination, record: record)
        #expect(Outcome(verdict) == expected)
    }

    @Test(
        "restore of a device off VFIO: an unbound one gets its recorded driver, any other stays",
        arguments: [
            (nil as String?, "e1000e" as String?, Outcome.move(to: "e1000e", .recorded), ""),
            ("e1000e", "e1000e", .keep(.unchanged), "0000:03:00.0 is on e1000e, where it was before vfioctl moved it"),
            (
                "igb", "e1000e", .keep(.unchanged),
                "0000:03:00.0 is on igb, not on a VFIO driver: left as it is (it was on e1000e before vfioctl moved it)"
            ),
            (nil, nil, .keep(.unchanged), "0000:03:00.0 is on no driver, where it was before vfioctl moved it"),
        ])
    func restore(_ current: String?, _ original: String?, _ expected: Outcome, _ message: String) {
        let verdict = ReleasePlanner.restoreVerdict(Self.device(driver: current), reason: .requested, record: Self.record(original))
        #expect(Outcome(verdict) == expected)
        if case .keep(_, let text) = verdict { #expect(text == message) }
    }

    @Test("cycle refuses a device that is not on a VFIO driver")
    func cycleNotVFIO() {
        let verdict = ReleasePlanner.cycleVerdict(Self.device(driver: "e1000e"), reason: .requested, virtualFunctions: [])
        #expect(Outcome(verdict) == .refuse(.notVFIO))
    }
}
