/// The outcome of planning a bind.
public enum BindDecision: Sendable, Equatable {
    case plan(BindPlan)
    case refused(BindRefusal)
}

/// Plans `vfioctl bind` from a snapshot: the inventory, kernel facts and the host uses the
/// detector found. Pure — no I/O — so every rule is tested with plain values.
///
/// Rules (docs/kernel-notes.md: viability, sysfs writes, SR-IOV):
/// - Devices named by address or ids must be endpoints (header type 0); a named bridge is
///   refused, because vfio-pci's probe returns EINVAL for anything else.
/// - A device without an IOMMU group can only be bound in vfio's unsafe no-IOMMU mode; without
///   it the request is unavailable (exit 69).
/// - After the bind, every group it touches must be viable: each other member unbound, on a VFIO
///   driver, or on `pci-stub`/`pcieport`. Otherwise the bind is refused and the blockers named;
///   with `--group` the blocking endpoints move too. Bridges never move: a bridge on a host
///   DMA driver (e.g. `shpchp`) blocks even `--group`.
/// - `group:N` takes every endpoint of the group except those parked on `pci-stub`/`pcieport`
///   or already on another VFIO driver.
/// - Host use (mounted filesystems, swap, configured interfaces, boot display, framebuffer,
///   enabled VFs) refuses the bind unless `--force`; the root filesystem and an open VFIO device
///   refuse it even then.
public enum BindPlanner {
    /// - Throws: `.usage` when `driver` is not vfio-pci or a VFIO variant driver name.
    public static func validate(driver: String) throws(VFIOError) {
        try DriverName.validate(driver, from: "--driver")
        guard DriverName.isVFIO(driver) else {
            throw .usage("--driver \(driver) is not a VFIO driver: expected vfio-pci or a variant driver (e.g. mlx5_vfio_pci)")
        }
    }

    /// The devices named by the request plus every member of their groups: what the in-use
    /// detector has to look at before planning.
    /// - Throws: `.unavailable` for a device, group or ids that do not exist.
    public static func affectedDevices(_ request: BindRequest, inventory: HostInventory) throws(VFIOError) -> [PCIDevice] {
        var seen = Set<PCIAddress>()
        var result: [PCIDevice] = []
        for target in request.targets {
            for device in try inventory.resolve(target) {
                var all = [device]
                if let id = device.iommuGroup, let group = inventory.groups[id] { all += inventory.members(of: group) }
                for d in all where seen.insert(d.address).inserted { result.append(d) }
            }
        }
        return result.sorted { $0.address < $1.address }
    }

    public static func plan(
        _ request: BindRequest, inventory: HostInventory, environment: BindEnvironment, uses: [DeviceUse]
    ) throws(VFIOError) -> BindDecision {
        try validate(driver: request.driver)
        guard !request.targets.isEmpty else { throw .usage("no target given: expected \(Target.acceptedForms)") }
        var draft = Draft()
        try classifyTargets(request, inventory: inventory, noiommuEnabled: environment.noiommuEnabled, into: &draft)
        let requestedGroups = Set(draft.requested.compactMap { inventory.device($0)?.iommuGroup })
        checkGroupViability(request, groups: requestedGroups.sorted(), inventory: inventory, into: &draft)
        let moving = draft.movers.keys.sorted().compactMap { inventory.device($0) }
        for device in moving { try DriverName.validateCurrent(device.driver, of: device.address) }
        let forced = checkHostUses(moving, request: request, uses: uses, inventory: inventory, into: &draft)
        if !draft.refusals.isEmpty { return .refused(BindRefusal(reasons: draft.refusals)) }

        let moves = buildMoves(moving, reasons: draft.movers, driver: request.driver)
        draft.warnings += driverctlWarnings(moving, driver: request.driver)
        let touched = Set(moves.compactMap(\.group)).union(requestedGroups)
        return .plan(
            BindPlan(
                request: request,
                loadModule: !moves.isEmpty && !environment.loadedDrivers.contains(request.driver) ? request.driver : nil,
                moves: moves, kept: draft.kept.values.sorted { $0.address < $1.address }, forced: forced, warnings: draft.warnings,
                groups: touched.sorted(), notes: sriovNotes(moving, driver: request.driver)))
    }

    // MARK: - Steps

    /// What the planner has decided so far; each step adds to it.
    struct Draft {
        /// Every device a target named, each once.
        var requested = Set<PCIAddress>()
        var kept: [PCIAddress: DeviceKept] = [:]
        var movers: [PCIAddress: DeviceMove.Reason] = [:]
        var refusals: [BindRefusal.Reason] = []
        var warnings: [String] = []

        /// Records one device's verdict. A device already kept stays kept as it was first
        /// classified (a bridge named by `group:N` is not re-kept as unbound).
        mutating func apply(_ verdict: Verdict, to address: PCIAddress) {
            switch verdict {
            case .keep(let device):
                if kept[address] == nil { kept[address] = device }
            case .refuse(let reason):
                refusals.append(reason)
            case .move(let reason, let warning):
                if let warning { warnings.append(warning) }
                movers[address] = reason
            case .warn(let warning):
                warnings.append(warning)
            }
        }
    }

    /// What happens to one device.
    enum Verdict: Equatable {
        case keep(DeviceKept)
        case refuse(BindRefusal.Reason)
        /// It moves to the requested driver; the warning says what the move costs.
        case move(DeviceMove.Reason, warning: String? = nil)
        /// It stays as it is, which the user should know about (a group that is not viable).
        case warn(String)
    }

    /// Step 1: what the targets name, in the order they were given.
    /// - Throws: `.unavailable` for a target that does not exist, or a device without an IOMMU
    ///   group while no-IOMMU mode is off.
    static func classifyTargets(
        _ request: BindRequest, inventory: HostInventory, noiommuEnabled: Bool, into draft: inout Draft
    ) throws(VFIOError) {
        for target in request.targets {
            for device in try inventory.resolve(target) {
                guard draft.requested.insert(device.address).inserted else { continue }
                let verdict = try namedVerdict(device, fromGroup: target.isGroup, driver: request.driver, noiommuEnabled: noiommuEnabled)
                draft.apply(verdict, to: device.address)
            }
        }
    }

    /// A device a target names: it moves unless it is already on `driver` or is a bridge, or —
    /// when the target is a whole group — it is parked on `pci-stub`/`pcieport` or another VFIO
    /// driver.
    static func namedVerdict(_ device: PCIDevice, fromGroup: Bool, driver: String, noiommuEnabled: Bool) throws(VFIOError) -> Verdict {
        if device.driver == driver {
            return .keep(DeviceKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: .alreadyBound))
        }
        if device.isBridge {
            if fromGroup {
                return .keep(DeviceKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: .bridge))
            }
            // vfio-pci's probe returns EINVAL for anything but an endpoint.
            return .refuse(
                .init(
                    kind: .bridge, address: device.address, group: device.iommuGroup, driver: device.driver,
                    message: "\(device.address) is a PCI bridge (header type \(device.headerType.map(String.init) ?? "1")): \(driver) only binds endpoints (header type 0)",
                    remedy: "bind the devices behind it instead"))
        }
        if fromGroup {
            switch Viability.state(of: device) {
            case .dmaManaged(let d):
                return .keep(DeviceKept(address: device.address, group: device.iommuGroup, driver: d, reason: .dmaManaged))
            case .vfio(let d):
                return .keep(DeviceKept(address: device.address, group: device.iommuGroup, driver: d, reason: .otherVFIODriver))
            case .unbound, .hostDriver:
                break
            }
        }
        guard device.iommuGroup == nil else { return .move(.requested) }
        guard noiommuEnabled else {
            throw .unavailable(
                "\(device.address) has no IOMMU group: the IOMMU is off or does not cover it, and vfio's no-IOMMU mode is off (\(SysfsPaths.noiommuParameter)); 'vfioctl doctor' explains"
            )
        }
        return .move(.requested, warning: "\(device.address) has no IOMMU group: it will use vfio's unsafe no-IOMMU mode (no DMA isolation; taints the kernel)")
    }

    /// Step 2: every group a target touches must be viable after the move. Members that move
    /// or are already on the driver are settled; each other member is judged.
    static func checkGroupViability(_ request: BindRequest, groups: [Int], inventory: HostInventory, into draft: inout Draft) {
        let retry = retryCommand(request)
        for id in groups {
            guard let group = inventory.groups[id] else { continue }
            let members = inventory.members(of: group)
            let groupMoves = members.contains { draft.movers[$0.address] != nil }
            for member in members where draft.movers[member.address] == nil && draft.kept[member.address]?.reason != .alreadyBound {
                let verdict = peerVerdict(member, group: id, request: request, groupMoves: groupMoves, retry: retry)
                draft.apply(verdict, to: member.address)
            }
        }
    }

    /// A group member nobody named: unbound, `pci-stub`/`pcieport` and VFIO members never block;
    /// an endpoint on a host DMA driver moves with `--group` and blocks otherwise (a warning
    /// when nothing in its group moves).
    static func peerVerdict(_ member: PCIDevice, group id: Int, request: BindRequest, groupMoves: Bool, retry: String) -> Verdict {
        switch Viability.state(of: member) {
        case .hostDriver(let d):
            if member.isBridge { return blockingBridgeVerdict(member, driver: d, group: id, request: request, groupMoves: groupMoves) }
            if request.wholeGroup { return .move(.groupPeer) }
            guard groupMoves else {
                return .warn("group \(id) is not viable: \(member.address) is on host driver \(d); '\(retry)' moves it")
            }
            return .refuse(
                .init(
                    kind: .groupNotViable, address: member.address, group: id, driver: d,
                    message: "group \(id) would not be viable: \(member.address) stays on host driver \(d), which uses the DMA API",
                    remedy: "bind the whole group: \(retry)"))
        case .unbound:
            return .keep(DeviceKept(address: member.address, group: id, driver: nil, reason: member.isBridge ? .bridge : .unbound))
        case .dmaManaged(let d):
            return .keep(DeviceKept(address: member.address, group: id, driver: d, reason: member.isBridge ? .bridge : .dmaManaged))
        case .vfio(let d):
            return .keep(DeviceKept(address: member.address, group: id, driver: d, reason: .otherVFIODriver))
        }
    }

    /// A bridge on a host DMA driver (e.g. `shpchp`): bridges never move, so it blocks even
    /// `--group`.
    static func blockingBridgeVerdict(_ bridge: PCIDevice, driver d: String, group id: Int, request: BindRequest, groupMoves: Bool) -> Verdict {
        let message = "group \(id) would not be viable: bridge \(bridge.address) is bound to \(d), which uses the DMA API, and \(request.driver) cannot take bridges"
        let remedy = "unbind it (echo \(bridge.address) > /sys/bus/pci/drivers/\(d)/unbind) or bind it to pci-stub"
        guard groupMoves else { return .warn(message.replacingFirst("would not be", with: "is not") + "; " + remedy) }
        return .refuse(.init(kind: .groupNotViable, address: bridge.address, group: id, driver: d, message: message, remedy: remedy))
    }

    /// Step 3: host use of every device that moves, from the detector and from the inventory.
    /// A forceable use with `--force` is reported and returned; any other refuses the bind.
    static func checkHostUses(
        _ moving: [PCIDevice], request: BindRequest, uses: [DeviceUse], inventory: HostInventory, into draft: inout Draft
    ) -> [DeviceUse] {
        var forced: [DeviceUse] = []
        for device in moving {
            let found = uses.filter { $0.address == device.address } + inventoryUses(device, driver: request.driver, inventory: inventory)
            for use in found {
                if use.forceable && request.force {
                    forced.append(use)
                    draft.warnings.append("--force: \(device.address): ignoring: \(use.what)")
                } else {
                    draft.refusals.append(
                        .init(
                            kind: .inUse, address: device.address, group: device.iommuGroup, driver: device.driver, use: use,
                            message: "\(device.address) is in use: \(use.what)",
                            remedy: use.forceable ? "free it (\(use.remedy)) or pass --force" : use.remedy))
                }
            }
        }
        return forced
    }

    /// Step 4: the moves, in the order of `moving` (address order), each with its exact writes.
    static func buildMoves(_ moving: [PCIDevice], reasons: [PCIAddress: DeviceMove.Reason], driver: String) -> [DeviceMove] {
        let target = DriverState(driver: driver, override: driver)
        return moving.map { device in
            DeviceMove(
                address: device.address, group: device.iommuGroup, from: DriverState(device), to: target, reason: reasons[device.address]!,
                steps: DriverTransition.steps(for: device.address, from: DriverState(device), to: target, attach: .probe))
        }
    }

    /// driverctl's udev rule re-applies its persisted override at the next hotplug or boot,
    /// undoing this bind behind vfioctl's back.
    static func driverctlWarnings(_ moving: [PCIDevice], driver: String) -> [String] {
        moving.compactMap { device in
            guard let persisted = device.driverctlOverride, persisted != driver else { return nil }
            return
                "\(device.address) has a driverctl override to \(persisted) (/etc/driverctl.d/pci-\(device.address)); driverctl will rebind it at the next hotplug or boot; 'driverctl unset-override \(device.address)' or use driverctl for it"
        }
    }

    /// A PF that can have VFs: once it is on vfio-pci, VFs it creates (sriov_numvfs with
    /// vfio-pci's enable_sriov=1) can only be opened with the PF's VF token (docs/kernel-notes.md, "SR-IOV").
    static func sriovNotes(_ moving: [PCIDevice], driver: String) -> [String] {
        moving.compactMap { device in
            guard let sriov = device.sriov, sriov.totalVFs > 0, device.physicalFunction == nil else { return nil }
            return
                "\(device.address) is an SR-IOV PF (up to \(sriov.totalVFs) VFs): VFs created while it is on \(driver) need the VF token to be opened (QEMU: -device vfio-pci,host=VF,vf-token=UUID, the UUID the PF's user sets); its user must not close it while VFs are in use"
        }
    }

    /// Uses the inventory alone reveals.
    static func inventoryUses(_ device: PCIDevice, driver: String, inventory: HostInventory? = nil) -> [DeviceUse] {
        var uses: [DeviceUse] = []
        if device.bootVGA == true {
            uses.append(
                DeviceUse(
                    address: device.address, kind: .bootVGA,
                    what: "it is the boot display (boot_vga=1); the firmware framebuffer (efifb/simpledrm) or the console may still use its memory",
                    remedy: "switch the console and display server to another GPU"))
        }
        if let sriov = device.sriov, sriov.numVFs > 0 {
            // vfio_pci_core_register_device refuses a PF with VFs enabled (EBUSY); --force lets
            // vfioctl try (and roll back). Not when a VF is on a VFIO driver: unbinding the PF's
            // driver disables SR-IOV, which blocks like a held unbind while any VF is held
            // (docs/kernel-notes.md, "SR-IOV"), so their users and the VFs go first.
            var vfs = Set(sriov.virtualFunctions)
            for d in inventory?.devices ?? [] where d.physicalFunction == device.address { vfs.insert(d.address) }
            let listed = vfs.sorted().map { vf in
                vf.description + " on " + (inventory?.device(vf)?.driver ?? "no driver")
            }
            let vfioVFs = vfs.sorted().filter { inventory?.device($0)?.isVFIOBound ?? false }
            let names = vfioVFs.map(\.description).joined(separator: " ")
            uses.append(
                DeviceUse(
                    address: device.address, kind: .virtualFunctions,
                    what: "it is an SR-IOV PF with \(sriov.numVFs) VFs enabled" + (listed.isEmpty ? "" : " (" + listed.joined(separator: ", ") + ")")
                        + ", which depend on it; \(driver) refuses such a PF"
                        + (vfioVFs.isEmpty ? "" : ", and unbinding its driver would block while a VF is held"),
                    remedy: (vfioVFs.isEmpty ? "" : "stop the VFs' users and give them back first (vfioctl holders \(names); vfioctl unbind \(names)), then ")
                        + "echo 0 > /sys/bus/pci/devices/\(device.address)/sriov_numvfs",
                    forceable: vfioVFs.isEmpty))
        }
        // Moving between VFIO drivers means unbinding one; while a process has the device open
        // that write sleeps in the kernel until it is closed (docs/kernel-notes.md, "Unbinding a held device").
        if device.isVFIOBound, device.driver != driver, (device.enableCount ?? 0) > 0 {
            uses.append(
                DeviceUse(
                    address: device.address, kind: .openVFIODevice,
                    what: "a process has it open through \(device.driver ?? "VFIO") (enable=\(device.enableCount ?? 0)); unbinding it now would block until it is closed",
                    remedy: "close it first (vfioctl holders \(device.address))", forceable: false))
        }
        return uses
    }

    /// The command that would take the whole group: the same targets with `--group`.
    static func retryCommand(_ request: BindRequest) -> String {
        var parts = ["vfioctl bind --group"]
        if request.driver != DriverName.vfioPCI { parts.append("--driver " + request.driver) }
        parts += request.targets.map(\.description)
        return parts.joined(separator: " ")
    }
}

extension String {
    func replacingFirst(_ old: String, with new: String) -> String {
        var copy = self
        if let range = copy.firstRange(of: old) { copy.replaceSubrange(range, with: new) }
        return copy
    }
}
