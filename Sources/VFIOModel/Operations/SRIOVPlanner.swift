/// Plans `vfioctl sriov`: which writes bring a PF to N VFs without a host driver ever probing
/// one. The rules, each from the kernel (docs/kernel-notes.md, "SR-IOV"):
/// - `sriov_drivers_autoprobe` goes to 0 before `sriov_numvfs` is written, so the VFs appear
///   unbound and only an override binds them (`sriov_add_vfs()` probes with the PF's flag).
/// - A non-zero count changes only through 0: `sriov_numvfs_store()` returns EBUSY otherwise.
/// - Any change of the count removes every current VF first.
public enum SRIOVPlanner {
    /// - Throws: `.refused` for a VF or a device without SR-IOV (nothing to plan), `.usage`
    ///   for a count the PF cannot have or `--driver` that is not a VFIO driver.
    public static func plan(
        _ request: SRIOVRequest, pf: PCIDevice, vfs: [PCIDevice], layout: VFLayout?, record: SRIOVRecord?, vfTotalMSIX: Int? = nil,
        time: String
    ) throws(VFIOError) -> SRIOVPlan {
        let address = pf.address
        if let parent = pf.physicalFunction {
            throw .refused("\(address) is a VF of \(parent): VFs are created on their PF", target: address.description, remedy: "vfioctl sriov \(parent) --vfs N")
        }
        guard let sriov = pf.sriov, sriov.totalVFs > 0 else {
            throw .refused("\(address) has no SR-IOV capability (no sriov_totalvfs): it cannot have VFs", target: address.description)
        }
        guard request.numVFs >= 0, request.numVFs <= sriov.totalVFs else {
            throw .usage("--vfs \(request.numVFs): \(address) supports 0 to \(sriov.totalVFs) VFs (sriov_totalvfs)", target: "--vfs")
        }
        if let driver = request.vfDriver, driver != DriverName.auto { try BindPlanner.validate(driver: driver) }
        let current = sriov.numVFs
        var rebind: [MSIXRebind] = []
        if let msix = request.msix {
            rebind = try checkMSIX(msix, request: request, pf: address, vfs: vfs, changesCount: current != request.numVFs, total: vfTotalMSIX)
        }
        var steps: [OperationStep] = []
        var removed: [PCIAddress] = []
        if current != request.numVFs {
            if request.numVFs > 0 && sriov.driversAutoprobe != false {
                steps.append(.write(.setAutoprobe(address, to: false)))
            }
            if current > 0 {
                steps.append(.write(.setNumVFs(address, to: 0)))
                removed = sriov.virtualFunctions
            }
            if request.numVFs > 0 { steps.append(.write(.setNumVFs(address, to: request.numVFs))) }
        }
        let onVFIO = vfs.filter { removed.contains($0.address) && $0.isVFIOBound }.map(\.address)
        let created = current == request.numVFs ? nil : layout?.addresses(of: address, count: request.numVFs)
        let kept = record
        let newRecord = SRIOVRecord(
            address: address, originalNumVFs: kept?.originalNumVFs ?? current,
            originalAutoprobe: kept == nil ? sriov.driversAutoprobe : kept?.originalAutoprobe,
            numVFs: request.numVFs, vfDriver: request.vfDriver ?? (current == request.numVFs ? kept?.vfDriver : nil), time: time)
        return SRIOVPlan(
            request: request, pf: address, pfDriver: pf.driver, totalVFs: sriov.totalVFs, currentNumVFs: current,
            currentAutoprobe: sriov.driversAutoprobe, currentVFs: sriov.virtualFunctions, removed: removed, removedOnVFIO: onVFIO,
            created: created, steps: steps, record: newRecord, msix: request.msix, msixRebind: rebind)
    }

    /// `--msix`: the PF's driver must offer it (`sriov_vf_total_msix` exists only then) and the
    /// VFs must be able to share the total. VFs that stay and have a driver are returned: the
    /// kernel returns EBUSY for a bound VF, so each loses its driver for the write and gets it
    /// back after (new VFs have none: autoprobe is off).
    static func checkMSIX(
        _ msix: Int, request: SRIOVRequest, pf: PCIAddress, vfs: [PCIDevice], changesCount: Bool, total: Int?
    ) throws(VFIOError) -> [MSIXRebind] {
        guard let total else {
            throw .refused(
                "--msix: \(pf)'s driver does not offer sriov_vf_msix_count (no sriov_vf_total_msix)", target: "--msix",
                remedy: "leave --msix out; the VFs get what the device gives them")
        }
        guard msix > 0, msix * max(request.numVFs, 1) <= total else {
            throw .usage(
                "--msix \(msix): \(pf) has \(total) MSI-X vectors for its VFs (sriov_vf_total_msix), \(request.numVFs) VFs can have at most \(total / max(request.numVFs, 1)) each",
                target: "--msix")
        }
        guard !changesCount else { return [] }
        return vfs.filter { $0.driver != nil }.map { MSIXRebind(address: $0.address, state: DriverState(driver: $0.driver, override: $0.driverOverride)) }
    }

    /// The `sriov_vf_msix_count` writes for `vfs`, each VF in `rebind` unbound before its write
    /// and given its driver back after it (`rebindSteps`).
    public static func msixSteps(_ vfs: [PCIAddress], count: Int?, rebind: [MSIXRebind] = []) -> [OperationStep] {
        guard let count else { return [] }
        return vfs.flatMap { vf -> [OperationStep] in
            let write = OperationStep.write(.setMSIXCount(vf, to: count))
            guard let bound = rebind.first(where: { $0.address == vf }) else { return [write] }
            return unbindSteps(bound) + [write] + rebindSteps(bound)
        }
    }

    /// Off its driver for the write; the override stays, so nothing else probes it meanwhile.
    public static func unbindSteps(_ vf: MSIXRebind) -> [OperationStep] {
        DriverTransition.steps(for: vf.address, from: vf.state, to: DriverState(driver: nil, override: vf.state.override))
    }

    /// Its driver back. Through an override naming that driver, then the override as it was:
    /// with autoprobe off the kernel probes a VF only when `driver_override` is set
    /// (`pci_device_can_probe()`), so a plain `bind` of a VF without one fails with ENODEV.
    public static func rebindSteps(_ vf: MSIXRebind) -> [OperationStep] {
        guard let driver = vf.state.driver else { return [] }
        let unbound = DriverState(driver: nil, override: vf.state.override)
        var steps = DriverTransition.steps(for: vf.address, from: unbound, to: DriverState(driver: driver, override: driver))
        if vf.state.override != driver {
            steps.insert(.write(.setOverride(vf.address, to: vf.state.override)), at: steps.count - 1)
        }
        return steps
    }

    /// The writes that put a PF back as a record says it was, through 0 when both counts are
    /// non-zero. Autoprobe that was on goes back on first, so the original VFs get host drivers
    /// as they had them; autoprobe that was off goes back off last.
    public static func restoreSteps(_ record: SRIOVRecord, currentNumVFs: Int, currentAutoprobe: Bool?) -> [OperationStep] {
        var steps: [OperationStep] = []
        let pf = record.address
        let autoprobe = record.originalAutoprobe
        if let autoprobe, autoprobe != currentAutoprobe, autoprobe {
            // Back on before the VFs come back, so they are probed as they were originally.
            steps.append(.write(.setAutoprobe(pf, to: true)))
        }
        if currentNumVFs != record.originalNumVFs {
            if currentNumVFs > 0 { steps.append(.write(.setNumVFs(pf, to: 0))) }
            if record.originalNumVFs > 0 { steps.append(.write(.setNumVFs(pf, to: record.originalNumVFs))) }
        }
        if let autoprobe, autoprobe != currentAutoprobe, !autoprobe {
            steps.append(.write(.setAutoprobe(pf, to: false)))
        }
        return steps
    }

    /// What a bind of a new, unbound VF to `driver` writes (for a dry run, before it exists).
    public static func predictedBindSteps(_ vfs: [PCIAddress], driver: String) -> [OperationStep] {
        let target = DriverState(driver: driver, override: driver)
        return vfs.flatMap { DriverTransition.steps(for: $0, from: DriverState(driver: nil, override: nil), to: target, attach: .probe) }
    }
}
