/// The outcome of planning a bind.
public enum BindDecision: Sendable, Equatable {
    case plan(BindPlan)
    case refused(BindRefusal)
}

/// Plans `vfioctl bind` from a snapshot: the inventory, kernel facts and the host uses the
/// detector found. Pure — no I/O — so every rule is tested with plain values.
///
/// Rules (kernel-facts §1–2, §6):
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
        let driver = request.driver
        var refusals: [BindRefusal.Reason] = []
        var kept: [PCIAddress: DeviceKept] = [:]
        var movers: [PCIAddress: DeviceMove.Reason] = [:]
        var requested = Set<PCIAddress>()
        var warnings: [String] = []

        // 1. What the targets name.
        for target in request.targets {
            let fromGroup: Bool
            if case .group = target { fromGroup = true } else { fromGroup = false }
            for device in try inventory.resolve(target) {
                guard requested.insert(device.address).inserted else { continue }
                if device.driver == driver {
                    kept[device.address] = DeviceKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: .alreadyBound)
                    continue
                }
                if device.isBridge {
                    if fromGroup {
                        kept[device.address] = DeviceKept(address: device.address, group: device.iommuGroup, driver: device.driver, reason: .bridge)
                    } else {
                        refusals.append(
                            .init(
                                kind: .bridge, address: device.address, group: device.iommuGroup, driver: device.driver,
                                message: "\(device.address) is a PCI bridge (header type \(device.headerType.map(String.init) ?? "1")): \(driver) only binds endpoints (header type 0)",
                                remedy: "bind the devices behind it instead"))
                    }
                    continue
                }
                if fromGroup {
                    switch Viability.state(of: device) {
                    case .dmaManaged(let d):
                        kept[device.address] = DeviceKept(address: device.address, group: device.iommuGroup, driver: d, reason: .dmaManaged)
                        continue
                    case .vfio(let d):
                        kept[device.address] = DeviceKept(address: device.address, group: device.iommuGroup, driver: d, reason: .otherVFIODriver)
                        continue
                    case .unbound, .hostDriver:
                        break
                    }
                }
                if device.iommuGroup == nil {
                    guard environment.noiommuEnabled else {
                        throw .unavailable(
                            "\(device.address) has no IOMMU group: the IOMMU is off or does not cover it, and vfio's no-IOMMU mode is off (\(SysfsPaths.noiommuParameter)); 'vfioctl doctor' explains"
                        )
                    }
                    warnings.append("\(device.address) has no IOMMU group: it will use vfio's unsafe no-IOMMU mode (no DMA isolation; taints the kernel)")
                }
                movers[device.address] = .requested
            }
        }

        // 2. Group viability after the move.
        let requestedGroups = Set(requested.compactMap { inventory.device($0)?.iommuGroup })
        let retry = retryCommand(request)
        for id in requestedGroups.sorted() {
            guard let group = inventory.groups[id] else { continue }
            let members = inventory.members(of: group)
            let groupMoves = members.contains { movers[$0.address] != nil }
            for member in members where movers[member.address] == nil && kept[member.address]?.reason != .alreadyBound {
                switch Viability.state(of: member) {
                case .hostDriver(let d):
                    if member.isBridge {
                        let message = "group \(id) would not be viable: bridge \(member.address) is bound to \(d), which uses the DMA API, and \(driver) cannot take bridges"
                        let remedy = "unbind it (echo \(member.address) > /sys/bus/pci/drivers/\(d)/unbind) or bind it to pci-stub"
                        if groupMoves {
                            refusals.append(.init(kind: .groupNotViable, address: member.address, group: id, driver: d, message: message, remedy: remedy))
                        } else {
                            warnings.append(message.replacingFirst("would not be", with: "is not") + "; " + remedy)
                        }
                    } else if request.wholeGroup {
                        movers[member.address] = .groupPeer
                    } else if groupMoves {
                        refusals.append(
                            .init(
                                kind: .groupNotViable, address: member.address, group: id, driver: d,
                                message: "group \(id) would not be viable: \(member.address) stays on host driver \(d), which uses the DMA API",
                                remedy: "bind the whole group: \(retry)"))
                    } else {
                        warnings.append("group \(id) is not viable: \(member.address) is on host driver \(d); '\(retry)' moves it")
                    }
                case .unbound:
                    kept[member.address] = kept[member.address] ?? DeviceKept(address: member.address, group: id, driver: nil, reason: member.isBridge ? .bridge : .unbound)
                case .dmaManaged(let d):
                    kept[member.address] = kept[member.address] ?? DeviceKept(address: member.address, group: id, driver: d, reason: member.isBridge ? .bridge : .dmaManaged)
                case .vfio(let d):
                    kept[member.address] = kept[member.address] ?? DeviceKept(address: member.address, group: id, driver: d, reason: .otherVFIODriver)
                }
            }
        }

        // 3. Host use of every device that moves.
        var forced: [DeviceUse] = []
        let moving = movers.keys.sorted().compactMap { inventory.device($0) }
        for device in moving {
            // The current driver's name becomes a path component (drivers/<name>/unbind).
            try DriverName.validateCurrent(device.driver, of: device.address)
            let found = uses.filter { $0.address == device.address } + inventoryUses(device, driver: driver, inventory: inventory)
            for use in found {
                if use.forceable && request.force {
                    forced.append(use)
                    warnings.append("--force: \(device.address): ignoring: \(use.what)")
                } else {
                    refusals.append(
                        .init(
                            kind: .inUse, address: device.address, group: device.iommuGroup, driver: device.driver, use: use,
                            message: "\(device.address) is in use: \(use.what)",
                            remedy: use.forceable ? "free it (\(use.remedy)) or pass --force" : use.remedy))
                }
            }
        }

        if !refusals.isEmpty { return .refused(BindRefusal(reasons: refusals)) }

        // A PF that can have VFs: once it is on vfio-pci, VFs it creates (sriov_numvfs with
        // vfio-pci's enable_sriov=1) can only be opened with the PF's VF token (kernel-facts §6).
        var notes: [String] = []
        for device in moving {
            guard let sriov = device.sriov, sriov.totalVFs > 0, device.physicalFunction == nil else { continue }
            notes.append(
                "\(device.address) is an SR-IOV PF (up to \(sriov.totalVFs) VFs): VFs created while it is on \(driver) need the VF token to be opened (QEMU: -device vfio-pci,host=VF,vf-token=UUID, the UUID the PF's user sets); its user must not close it while VFs are in use")
        }

        // 4. The moves, in address order, each with its exact writes.
        let target = DriverState(driver: driver, override: driver)
        let moves = moving.map { device in
            DeviceMove(
                address: device.address, group: device.iommuGroup, from: DriverState(device), to: target, reason: movers[device.address]!,
                steps: DriverTransition.steps(for: device.address, from: DriverState(device), to: target, attach: .probe))
        }
        // driverctl's udev rule re-applies its persisted override at the next hotplug or boot,
        // undoing this bind behind vfioctl's back.
        for device in moving {
            if let persisted = device.driverctlOverride, persisted != driver {
                warnings.append(
                    "\(device.address) has a driverctl override to \(persisted) (/etc/driverctl.d/pci-\(device.address)); driverctl will rebind it at the next hotplug or boot; 'driverctl unset-override \(device.address)' or use driverctl for it")
            }
        }
        let touched = Set(moves.compactMap(\.group)).union(requestedGroups)
        return .plan(
            BindPlan(
                request: request,
                loadModule: !moves.isEmpty && !environment.loadedDrivers.contains(driver) ? driver : nil,
                moves: moves, kept: kept.values.sorted { $0.address < $1.address }, forced: forced, warnings: warnings,
                groups: touched.sorted(), notes: notes))
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
            // (kernel-facts §6), so their users and the VFs go first.
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
        // that write sleeps in the kernel until it is closed (kernel-facts §3).
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
