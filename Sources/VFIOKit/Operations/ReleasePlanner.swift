/// Plans `vfioctl unbind`, `restore` and `cycle` from a snapshot: the inventory, the state file
/// and the loaded drivers. Pure — no I/O — so every rule is tested with plain values. Waiting
/// for holders and the re-check before the first write are the caller's (kernel-facts §3, §7).
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
        if request.kind != .restore && request.targets.isEmpty {
            throw .usage("no target given: expected \(Target.acceptedForms)")
        }
        if case .driver(let driver) = request.destination, !loadedDrivers.contains(driver) {
            throw .unavailable("driver \(driver) is not loaded (no \(SysfsPaths.driverDirectory(driver))): modprobe \(driver) first, or use --to none; nothing was changed")
        }

        var candidates: [(PCIDevice, ReleaseMove.Reason)] = []
        var seen = Set<PCIAddress>()
        var kept: [ReleaseKept] = []
        var refusals: [ReleaseRefusal.Reason] = []
        var warnings: [String] = []

        func keep(_ device: PCIDevice, _ reason: ReleaseKept.Reason, _ message: String) {
            guard !kept.contains(where: { $0.address == device.address }) else { return }
            kept.append(ReleaseKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: reason, message: message))
        }

        // 1. The devices asked about.
        if request.kind == .restore {
            for record in state.devices {
                guard let device = inventory.device(record.address) else {
                    kept.append(
                        ReleaseKept(
                            address: record.address, group: record.group, driver: nil, reason: .gone,
                            message: "\(record.address) is no longer on the bus; its record is dropped"))
                    continue
                }
                if seen.insert(device.address).inserted { candidates.append((device, .requested)) }
            }
        } else {
            for target in request.targets {
                let fromGroup: Bool
                if case .group = target { fromGroup = true } else { fromGroup = false }
                for device in try inventory.resolve(target) where !seen.contains(device.address) {
                    if fromGroup && !device.isVFIOBound && state[device.address] == nil {
                        keep(device, .notVFIO, "\(device.address) is not on a VFIO driver (\(device.driver ?? "unbound"))")
                        continue
                    }
                    seen.insert(device.address)
                    candidates.append((device, .requested))
                }
            }
        }
        if request.wholeGroup {
            for (device, _) in candidates {
                guard let id = device.iommuGroup, let group = inventory.groups[id] else { continue }
                for member in inventory.members(of: group) where member.isVFIOBound && seen.insert(member.address).inserted {
                    candidates.append((member, .groupPeer))
                }
            }
        }

        // 2. Each device's move.
        var moves: [ReleaseMove] = []
        for (device, reason) in candidates {
            let current = DriverState(device)
            let vfs = virtualFunctions(of: device, inventory: inventory)
            try DriverName.validateCurrent(device.driver, of: device.address)
            if request.kind == .cycle {
                guard device.isVFIOBound, let driver = device.driver else {
                    refusals.append(
                        .init(
                            kind: .notVFIO, address: device.address, group: device.iommuGroup, driver: device.driver,
                            message: "\(device.address) is not on a VFIO driver (\(device.driver ?? "unbound")): there is nothing to cycle",
                            remedy: "bind it first (vfioctl bind \(device.address))"))
                    continue
                }
                if !vfs.isEmpty {
                    refusals.append(
                        .init(
                            kind: .virtualFunctions, address: device.address, group: device.iommuGroup, driver: driver,
                            message: "\(device.address) is an SR-IOV PF with \(vfs.count) VFs enabled: unbinding it from \(driver) would remove them",
                            remedy: "echo 0 > /sys/bus/pci/devices/\(device.address)/sriov_numvfs first"))
                    continue
                }
                moves.append(
                    ReleaseMove(
                        address: device.address, group: device.iommuGroup, from: current, to: DriverState(driver: driver, override: driver),
                        source: .same, reason: reason, steps: cycleSteps(device.address, current: current, driver: driver), toHostDMA: false,
                        virtualFunctions: []))
                continue
            }

            let record = state[device.address]
            if device.isVFIOBound {
                let target: DriverState
                let source: ReleaseMove.Source
                switch request.destination {
                case .driver(let d):
                    (target, source) = (DriverState(driver: d, override: nil), .requested)
                case .none:
                    (target, source) = (DriverState(driver: nil, override: nil), .requested)
                case .recorded:
                    if let record {
                        (target, source) = (record.original, .recorded)
                    } else {
                        (target, source) = (DriverState(driver: nil, override: nil), .kernel)
                    }
                }
                if source != .kernel, target == current {
                    keep(device, .unchanged, "\(device.address) is on \(device.driver ?? "no driver"), where it was before vfioctl moved it")
                    continue
                }
                let steps: [OperationStep]
                if source == .kernel {
                    steps = kernelChoiceSteps(device.address, current: current)
                } else {
                    steps = DriverTransition.steps(for: device.address, from: current, to: target, attach: .bind)
                }
                moves.append(
                    ReleaseMove(
                        address: device.address, group: device.iommuGroup, from: current, to: target, source: source, reason: reason,
                        steps: steps, toHostDMA: source == .kernel || usesDMA(target.driver), virtualFunctions: vfs))
                continue
            }

            // Not on a VFIO driver.
            switch (request.kind, request.destination) {
            case (.restore, _):
                let original = record?.original ?? current
                if current.driver == nil, let driver = original.driver {
                    moves.append(
                        ReleaseMove(
                            address: device.address, group: device.iommuGroup, from: current, to: original, source: .recorded, reason: reason,
                            steps: DriverTransition.steps(for: device.address, from: current, to: original, attach: .bind), toHostDMA: usesDMA(driver),
                            virtualFunctions: []))
                } else if current.driver == original.driver {
                    keep(device, .unchanged, "\(device.address) is on \(current.driver ?? "no driver"), where it was before vfioctl moved it")
                } else {
                    keep(
                        device, .unchanged,
                        "\(device.address) is on \(current.driver ?? "no driver"), not on a VFIO driver: left as it is (it was on \(original.driver ?? "no driver") before vfioctl moved it)")
                }
            case (_, .driver(let d)):
                if current.driver == d {
                    keep(device, .alreadyReleased, "\(device.address) is already on \(d)")
                } else if current.driver == nil {
                    let target = DriverState(driver: d, override: nil)
                    moves.append(
                        ReleaseMove(
                            address: device.address, group: device.iommuGroup, from: current, to: target, source: .requested, reason: reason,
                            steps: DriverTransition.steps(for: device.address, from: current, to: target, attach: .bind), toHostDMA: usesDMA(d),
                            virtualFunctions: []))
                } else {
                    refusals.append(hostDriverRefusal(device, to: d))
                }
            case (_, .none):
                if current.driver != nil {
                    refusals.append(hostDriverRefusal(device, to: nil))
                } else {
                    keep(device, .alreadyReleased, "\(device.address) is already unbound")
                }
            case (_, .recorded):
                if current.driver == nil, let record, let driver = record.originalDriver {
                    moves.append(
                        ReleaseMove(
                            address: device.address, group: device.iommuGroup, from: current, to: record.original, source: .recorded, reason: reason,
                            steps: DriverTransition.steps(for: device.address, from: current, to: record.original, attach: .bind),
                            toHostDMA: usesDMA(driver), virtualFunctions: []))
                } else {
                    keep(device, .alreadyReleased, "\(device.address) is not on a VFIO driver (\(current.driver ?? "unbound")): nothing to do")
                }
            }
        }
        if !refusals.isEmpty { return .refused(ReleaseRefusal(reasons: refusals)) }

        // 3. Units: one per group; VFs before their PFs (a PF's unbind takes its VFs away).
        var byGroup: [String: [ReleaseMove]] = [:]
        var order: [String] = []
        for move in moves.sorted(by: { ($0.isVF(inventory) ? 0 : 1, $0.address) < ($1.isVF(inventory) ? 0 : 1, $1.address) }) {
            let key = move.group.map { "g" + String($0) } ?? "d" + move.address.description
            if byGroup[key] == nil { order.append(key) }
            byGroup[key, default: []].append(move)
        }
        let moving = Set(moves.map(\.address))
        var units: [ReleaseUnit] = []
        for key in order {
            let unitMoves = byGroup[key]!
            let group = unitMoves[0].group
            var waitFor = unitMoves.map(\.address)
            var staying: [PCIDevice] = []
            if let group, let g = inventory.groups[group] {
                staying = inventory.members(of: g).filter { $0.isVFIOBound && !moving.contains($0.address) }
            }
            if unitMoves.contains(where: \.toHostDMA) {
                waitFor += staying.map(\.address)
                if let group, !staying.isEmpty, request.kind != .cycle {
                    let leaving = unitMoves.filter(\.toHostDMA).map { "\($0.address) goes to \($0.destinationText)" }.joined(separator: ", ")
                    let names = staying.map(\.address.description).joined(separator: ", ")
                    warnings.append(
                        "group \(group) will not be viable for VFIO: \(leaving) while \(names) \(staying.count == 1 ? "stays" : "stay") on \(staying[0].driver ?? "vfio-pci"); no VMM can open \(staying.count == 1 ? "it" : "them") until the group is whole again (vfioctl unbind --group \(names), or vfioctl bind --group \(names))")
                }
            }
            var vfs: [PCIAddress] = []
            for move in unitMoves where !move.virtualFunctions.isEmpty {
                vfs += move.virtualFunctions.filter { !moving.contains($0) }
                warnings.append(
                    "\(move.address) is an SR-IOV PF with \(move.virtualFunctions.count) VFs enabled (\(move.virtualFunctions.map(\.description).joined(separator: ", "))): unbinding it from \(move.from.driver ?? "its VFIO driver") removes them")
            }
            units.append(ReleaseUnit(group: group, moves: unitMoves, waitFor: ReleasePlan.unique(waitFor), virtualFunctions: ReleasePlan.unique(vfs)))
        }
        return .plan(ReleasePlan(request: request, units: units, kept: kept.sorted { $0.address < $1.address }, warnings: warnings))
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
            steps.append(.write(SysfsWrite("\n", to: SysfsPaths.driverOverride(address))))
        }
        if let driver = current.driver {
            steps.append(.write(SysfsWrite(address.description + "\n", to: SysfsPaths.unbind(driver))))
        }
        steps.append(.write(SysfsWrite(address.description + "\n", to: SysfsPaths.driversProbe)))
        return steps
    }

    /// cycle: `driver_override` names the driver (it already does after a vfioctl bind), unbind,
    /// probe again, verify.
    static func cycleSteps(_ address: PCIAddress, current: DriverState, driver: String) -> [OperationStep] {
        var steps: [OperationStep] = []
        if current.override != driver {
            steps.append(.write(SysfsWrite(driver + "\n", to: SysfsPaths.driverOverride(address))))
        }
        steps.append(.write(SysfsWrite(address.description + "\n", to: SysfsPaths.unbind(driver))))
        steps.append(.write(SysfsWrite(address.description + "\n", to: SysfsPaths.driversProbe)))
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
