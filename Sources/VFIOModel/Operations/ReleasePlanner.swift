/// Plans `vfioctl unbind`, `restore` and `cycle` from a snapshot: the inventory, the state file
/// and the loaded drivers. Pure — no I/O — so every rule is tested with plain values. Waiting
/// for holders and the re-check before the first write are the caller's (docs/kernel-notes.md).
///
/// Rules:
/// - unbind/restore: a VFIO-bound device goes to `--to DRIVER`, or nowhere with `--to none`, or
///   to the driver and override recorded at bind time, or — with no record — to whatever the
///   kernel picks (`drivers_probe` after clearing `driver_override`). An unbound device with a
///   record (an interrupted operation, an earlier `--to none`) gets its recorded driver.
///   A device already off VFIO is left alone (exit 0), unless `--to` asks to move it off a host
///   driver: refused, that is not unbind's job.
/// - Group rule: a device that goes to a host DMA driver makes its group's other VFIO members
///   part of the wait (the kernel refuses the host driver with EBUSY while userspace owns the
///   group). `--group` moves every VFIO-bound member together.
/// - SR-IOV: a PF with VFs enabled on a VFIO driver takes its VFs down when it is unbound;
///   their holders refuse the release (the caller checks them), and cycle refuses it outright.
/// - cycle: unbind from the VFIO driver and probe it again with `driver_override` naming it.
public enum ReleasePlanner {
    /// Parses `--to`.
    /// - Throws: `.usage` for an unsafe name or a VFIO driver (unbind gives devices to the host).
    public static func destination(_ text: String?) throws(VFIOError) -> ReleaseDestination {
        guard let text else { return .recorded }
        if text == "none" { return .none }
        try DriverName.validate(text, from: "--to")
        guard !DriverName.isVFIO(text) else {
            throw .usage("--to \(text) is a VFIO driver: unbind gives devices back to the host (use 'vfioctl bind --driver \(text)' or 'vfioctl cycle')")
        }
        return .driver(text)
    }

    public static func plan(
        _ request: ReleaseRequest, inventory: HostInventory, state: HostState, loadedDrivers: Set<String>
    ) throws(VFIOError) -> ReleaseDecision {
        try validate(request, loadedDrivers: loadedDrivers)
        var draft = Draft()
        try selectCandidates(request, inventory: inventory, state: state, into: &draft)
        if request.wholeGroup { addGroupPeers(inventory: inventory, into: &draft) }
        for (device, _) in draft.candidates { try DriverName.validateCurrent(device.driver, of: device.address) }
        var moves: [ReleaseMove] = []
        for (device, reason) in draft.candidates {
            let vfs = virtualFunctions(of: device, inventory: inventory)
            switch verdict(for: device, reason: reason, request: request, record: state[device.address], virtualFunctions: vfs) {
            case .move(let move): moves.append(move)
            case .keep(let kept, let message): draft.keep(device, kept, message)
            case .refuse(let refusal): draft.refusals.append(refusal)
            }
        }
        if !draft.refusals.isEmpty { return .refused(ReleaseRefusal(reasons: draft.refusals)) }

        var units: [ReleaseUnit] = []
        var warnings: [String] = []
        let moving = Set(moves.map(\.address))
        for unitMoves in unitsByGroup(moves, inventory: inventory) {
            let (unit, unitWarnings) = unit(of: unitMoves, moving: moving, kind: request.kind, inventory: inventory)
            units.append(unit)
            warnings += unitWarnings
        }
        return .plan(ReleasePlan(request: request, units: units, kept: draft.kept.sorted { $0.address < $1.address }, warnings: warnings))
    }

    // MARK: - Steps

    /// What the planner has decided so far; each step adds to it.
    struct Draft {
        /// The devices to move, each once, in the order they were found.
        var candidates: [(device: PCIDevice, reason: ReleaseMove.Reason)] = []
        var seen = Set<PCIAddress>()
        var kept: [ReleaseKept] = []
        var refusals: [ReleaseRefusal.Reason] = []

        /// Keeps a device unless it is kept already (a group member that is not VFIO-bound may be
        /// named again by address).
        mutating func keep(_ device: PCIDevice, _ reason: ReleaseKept.Reason, _ message: String) {
            guard !kept.contains(where: { $0.address == device.address }) else { return }
            kept.append(ReleaseKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: reason, message: message))
        }
    }

    /// What happens to one candidate.
    enum Verdict: Equatable {
        case move(ReleaseMove)
        case keep(ReleaseKept.Reason, message: String)
        case refuse(ReleaseRefusal.Reason)
    }

    /// - Throws: `.usage` without a target (restore needs none); `.unavailable` when `--to` names
    ///   a driver that is not loaded.
    static func validate(_ request: ReleaseRequest, loadedDrivers: Set<String>) throws(VFIOError) {
        if request.kind != .restore && request.targets.isEmpty {
            throw .usage("no target given: expected \(Target.acceptedForms)")
        }
        if case .driver(let driver) = request.destination, !loadedDrivers.contains(driver) {
            throw .unavailable("driver \(driver) is not loaded (no \(SysfsPaths.driverDirectory(driver))): modprobe \(driver) first, or use --to none; nothing was changed")
        }
    }

    /// Step 1: the devices asked about — every recorded device for restore, else what the
    /// targets name. A `group:N` member that is not VFIO-bound and has no record is kept.
    static func selectCandidates(_ request: ReleaseRequest, inventory: HostInventory, state: HostState, into draft: inout Draft) throws(VFIOError) {
        guard request.kind != .restore else {
            for record in state.devices where request.domain == nil || record.domain == request.domain {
                guard let device = inventory.device(record.address) else {
                    draft.kept.append(
                        ReleaseKept(
                            address: record.address, group: record.group, driver: nil, reason: .gone,
                            message: "\(record.address) is no longer on the bus; its record is dropped"))
                    continue
                }
                if draft.seen.insert(device.address).inserted { draft.candidates.append((device, .requested)) }
            }
            return
        }
        for target in request.targets {
            for device in try inventory.resolve(target) where !draft.seen.contains(device.address) {
                if target.isGroup && !device.isVFIOBound && state[device.address] == nil {
                    draft.keep(device, .notVFIO, "\(device.address) is not on a VFIO driver (\(device.driver ?? "unbound"))")
                    continue
                }
                draft.seen.insert(device.address)
                draft.candidates.append((device, .requested))
            }
        }
    }

    /// `--group`: every VFIO-bound member of each candidate's group goes too.
    static func addGroupPeers(inventory: HostInventory, into draft: inout Draft) {
        for (device, _) in draft.candidates {
            guard let id = device.iommuGroup, let group = inventory.groups[id] else { continue }
            for member in inventory.members(of: group) where member.isVFIOBound && draft.seen.insert(member.address).inserted {
                draft.candidates.append((member, .groupPeer))
            }
        }
    }

    /// Step 2: one candidate's move, or why it stays or refuses the release.
    static func verdict(
        for device: PCIDevice, reason: ReleaseMove.Reason, request: ReleaseRequest, record: DeviceRecord?, virtualFunctions vfs: [PCIAddress]
    ) -> Verdict {
        if request.kind == .cycle { return cycleVerdict(device, reason: reason, virtualFunctions: vfs) }
        if device.isVFIOBound {
            return vfioReleaseVerdict(device, reason: reason, destination: request.destination, record: record, virtualFunctions: vfs)
        }
        if request.kind == .restore { return restoreVerdict(device, reason: reason, record: record) }
        return offVFIOVerdict(device, reason: reason, destination: request.destination, record: record)
    }

    /// cycle: off the VFIO driver and straight back onto it. Refused for a device that is not
    /// on one, and for a PF with VFs (unbinding it would remove them).
    static func cycleVerdict(_ device: PCIDevice, reason: ReleaseMove.Reason, virtualFunctions vfs: [PCIAddress]) -> Verdict {
        guard device.isVFIOBound, let driver = device.driver else {
            return .refuse(
                .init(
                    kind: .notVFIO, address: device.address, group: device.iommuGroup, driver: device.driver,
                    message: "\(device.address) is not on a VFIO driver (\(device.driver ?? "unbound")): there is nothing to cycle",
                    remedy: "bind it first (vfioctl bind \(device.address))"))
        }
        guard vfs.isEmpty else {
            return .refuse(
                .init(
                    kind: .virtualFunctions, address: device.address, group: device.iommuGroup, driver: driver,
                    message: "\(device.address) is an SR-IOV PF with \(vfs.count) VFs enabled: unbinding it from \(driver) would remove them",
                    remedy: "echo 0 > /sys/bus/pci/devices/\(device.address)/sriov_numvfs first"))
        }
        let current = DriverState(device)
        return .move(
            ReleaseMove(
                address: device.address, group: device.iommuGroup, from: current, to: DriverState(driver: driver, override: driver),
                source: .same, reason: reason, steps: cycleSteps(device.address, current: current, driver: driver), toHostDMA: false,
                virtualFunctions: []))
    }

    /// unbind/restore of a VFIO-bound device: to `--to`, to nothing, to its recorded driver, or —
    /// with no record — to whatever the kernel picks.
    static func vfioReleaseVerdict(
        _ device: PCIDevice, reason: ReleaseMove.Reason, destination: ReleaseDestination, record: DeviceRecord?, virtualFunctions vfs: [PCIAddress]
    ) -> Verdict {
        let current = DriverState(device)
        let target: DriverState
        let source: ReleaseMove.Source
        switch destination {
        case .driver(let d): (target, source) = (DriverState(driver: d, override: nil), .requested)
        case .none: (target, source) = (DriverState(driver: nil, override: nil), .requested)
        case .recorded:
            guard let record else {
                return .move(
                    ReleaseMove(
                        address: device.address, group: device.iommuGroup, from: current, to: DriverState(driver: nil, override: nil),
                        source: .kernel, reason: reason, steps: kernelChoiceSteps(device.address, current: current), toHostDMA: true,
                        virtualFunctions: vfs))
            }
            (target, source) = (record.original, .recorded)
        }
        guard target != current else {
            return .keep(.unchanged, message: "\(device.address) is on \(device.driver ?? "no driver"), where it was before vfioctl moved it")
        }
        return .move(bindMove(device, to: target, source: source, reason: reason, virtualFunctions: vfs))
    }

    /// restore of a device that is off VFIO: an unbound one gets its recorded driver (an
    /// interrupted operation, an earlier `--to none`); one on a host driver is left as it is.
    static func restoreVerdict(_ device: PCIDevice, reason: ReleaseMove.Reason, record: DeviceRecord?) -> Verdict {
        let current = DriverState(device)
        let original = record?.original ?? current
        if current.driver == nil, original.driver != nil {
            return .move(bindMove(device, to: original, source: .recorded, reason: reason))
        }
        if current.driver == original.driver {
            return .keep(.unchanged, message: "\(device.address) is on \(current.driver ?? "no driver"), where it was before vfioctl moved it")
        }
        return .keep(
            .unchanged,
            message:
                "\(device.address) is on \(current.driver ?? "no driver"), not on a VFIO driver: left as it is (it was on \(original.driver ?? "no driver") before vfioctl moved it)"
        )
    }

    /// unbind of a device that is off VFIO: nothing to do, unless it is unbound and has
    /// somewhere to go. Moving it off a host driver is refused: that is not unbind's job.
    static func offVFIOVerdict(_ device: PCIDevice, reason: ReleaseMove.Reason, destination: ReleaseDestination, record: DeviceRecord?) -> Verdict {
        let current = device.driver
        switch destination {
        case .driver(let d):
            if current == d { return .keep(.alreadyReleased, message: "\(device.address) is already on \(d)") }
            guard current == nil else { return .refuse(hostDriverRefusal(device, to: d)) }
            return .move(bindMove(device, to: DriverState(driver: d, override: nil), source: .requested, reason: reason))
        case .none:
            guard current == nil else { return .refuse(hostDriverRefusal(device, to: nil)) }
            return .keep(.alreadyReleased, message: "\(device.address) is already unbound")
        case .recorded:
            guard current == nil, let record, record.originalDriver != nil else {
                return .keep(.alreadyReleased, message: "\(device.address) is not on a VFIO driver (\(current ?? "unbound")): nothing to do")
            }
            return .move(bindMove(device, to: record.original, source: .recorded, reason: reason))
        }
    }

    /// A move to a named driver state, attached with an explicit bind.
    static func bindMove(
        _ device: PCIDevice, to target: DriverState, source: ReleaseMove.Source, reason: ReleaseMove.Reason, virtualFunctions: [PCIAddress] = []
    ) -> ReleaseMove {
        let current = DriverState(device)
        return ReleaseMove(
            address: device.address, group: device.iommuGroup, from: current, to: target, source: source, reason: reason,
            steps: DriverTransition.steps(for: device.address, from: current, to: target, attach: .bind), toHostDMA: usesDMA(target.driver),
            virtualFunctions: virtualFunctions)
    }

    /// Step 3: the moves grouped into units, one per group (a device without a group is its own
    /// unit), in order of first appearance; VFs before their PFs (a PF's unbind takes its VFs away).
    static func unitsByGroup(_ moves: [ReleaseMove], inventory: HostInventory) -> [[ReleaseMove]] {
        var byGroup: [String: [ReleaseMove]] = [:]
        var order: [String] = []
        for move in moves.sorted(by: { ($0.isVF(inventory) ? 0 : 1, $0.address) < ($1.isVF(inventory) ? 0 : 1, $1.address) }) {
            let key = move.group.map { "g" + String($0) } ?? "d" + move.address.description
            if byGroup[key] == nil { order.append(key) }
            byGroup[key, default: []].append(move)
        }
        return order.map { byGroup[$0]! }
    }

    /// One unit and what the user should know about it. When a device goes to a host DMA
    /// driver, the group's other VFIO members that stay are waited for too: the kernel refuses
    /// that driver with EBUSY while userspace owns the group.
    static func unit(of moves: [ReleaseMove], moving: Set<PCIAddress>, kind: ReleaseRequest.Kind, inventory: HostInventory) -> (ReleaseUnit, [String]) {
        let group = moves[0].group
        var waitFor = moves.map(\.address)
        var warnings: [String] = []
        var staying: [PCIDevice] = []
        if let group, let g = inventory.groups[group] {
            staying = inventory.members(of: g).filter { $0.isVFIOBound && !moving.contains($0.address) }
        }
        if moves.contains(where: \.toHostDMA) {
            waitFor += staying.map(\.address)
            if let group, !staying.isEmpty, kind != .cycle {
                warnings.append(notViableWarning(group: group, leaving: moves.filter(\.toHostDMA), staying: staying))
            }
        }
        var vfs: [PCIAddress] = []
        for move in moves where !move.virtualFunctions.isEmpty {
            vfs += move.virtualFunctions.filter { !moving.contains($0) }
            warnings.append(
                "\(move.address) is an SR-IOV PF with \(move.virtualFunctions.count) VFs enabled (\(move.virtualFunctions.map(\.description).joined(separator: ", "))): unbinding it from \(move.from.driver ?? "its VFIO driver") removes them"
            )
        }
        return (ReleaseUnit(group: group, moves: moves, waitFor: ReleasePlan.unique(waitFor), virtualFunctions: ReleasePlan.unique(vfs)), warnings)
    }

    /// Some of a group leave VFIO for host drivers while others stay on it.
    static func notViableWarning(group: Int, leaving: [ReleaseMove], staying: [PCIDevice]) -> String {
        let leavingText = leaving.map { "\($0.address) goes to \($0.destinationText)" }.joined(separator: ", ")
        let names = staying.map(\.address.description).joined(separator: ", ")
        return
            "group \(group) will not be viable for VFIO: \(leavingText) while \(names) \(staying.count == 1 ? "stays" : "stay") on \(staying[0].driver ?? "vfio-pci"); no VMM can open \(staying.count == 1 ? "it" : "them") until the group is whole again (vfioctl unbind --group \(names), or vfioctl bind --group \(names))"
    }

    /// A driver that uses the DMA API: not VFIO, not pci-stub/pcieport, not "none".
    static func usesDMA(_ driver: String?) -> Bool {
        guard let driver else { return false }
        return !DriverName.isVFIO(driver) && !DriverName.dmaManagedHostDrivers.contains(driver)
    }

    /// The VFs of a PF with SR-IOV enabled that sits on a VFIO driver.
    static func virtualFunctions(of device: PCIDevice, inventory: HostInventory) -> [PCIAddress] {
        guard device.isVFIOBound, let sriov = device.sriov, sriov.numVFs > 0 else { return [] }
        var vfs = Set(sriov.virtualFunctions)
        for d in inventory.devices where d.physicalFunction == device.address { vfs.insert(d.address) }
        return vfs.sorted()
    }

    /// No record: clear the override, unbind, and let the kernel probe. What binds (if
    /// anything) is the kernel's choice, so there is no driver to verify; the caller reads it.
    static func kernelChoiceSteps(_ address: PCIAddress, current: DriverState) -> [OperationStep] {
        var steps: [OperationStep] = []
        if current.override != nil {
            steps.append(.write(.setOverride(address, to: nil)))
        }
        if let driver = current.driver {
            steps.append(.write(.unbind(address, from: driver)))
        }
        steps.append(.write(.probe(address)))
        return steps
    }

    /// cycle: `driver_override` names the driver (it already does after a vfioctl bind), unbind,
    /// probe again, verify.
    static func cycleSteps(_ address: PCIAddress, current: DriverState, driver: String) -> [OperationStep] {
        var steps: [OperationStep] = []
        if current.override != driver {
            steps.append(.write(.setOverride(address, to: driver)))
        }
        steps.append(.write(.unbind(address, from: driver)))
        steps.append(.write(.probe(address)))
        steps.append(.verify(address, driver: driver))
        return steps
    }

    static func hostDriverRefusal(_ device: PCIDevice, to driver: String?) -> ReleaseRefusal.Reason {
        let current = device.driver ?? "a host driver"
        return .init(
            kind: .hostDriver, address: device.address, group: device.iommuGroup, driver: device.driver,
            message: "\(device.address) is on host driver \(current), not on a VFIO driver: unbind only gives VFIO devices back"
                + (driver.map { " (--to \($0))" } ?? " (--to none)"),
            remedy: "move it with the host's tools (echo \(device.address) > /sys/bus/pci/drivers/\(current)/unbind)")
    }
}

extension ReleaseMove {
    func isVF(_ inventory: HostInventory) -> Bool { inventory.device(address)?.physicalFunction != nil }
}
