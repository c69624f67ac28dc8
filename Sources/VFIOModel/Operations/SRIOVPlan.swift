/// What `vfioctl sriov PF --vfs N` was asked to do.
public struct SRIOVRequest: Sendable, Equatable {
    public var pf: PCIAddress
    public var numVFs: Int
    /// Bind the PF's VFs to `driver` once they exist; nil leaves them unbound.
    public var vfDriver: String?
    /// `--timeout`: wait this long for the VFs that would be removed to be free. nil: do not
    /// wait, refuse while any is held or on a VFIO driver.
    public var wait: Duration?
    /// VFs the bind leaves alone (`apply`: VFs that have entries of their own).
    public var exclude: Set<PCIAddress> = []
    /// `--msix N`: MSI-X vectors per VF, written while the VFs have no driver.
    public var msix: Int?

    public init(pf: PCIAddress, numVFs: Int, vfDriver: String? = nil, wait: Duration? = nil, exclude: Set<PCIAddress> = []) {
        self.pf = pf
        self.numVFs = numVFs
        self.vfDriver = vfDriver
        self.wait = wait
        self.exclude = exclude
    }
}

/// Where a PF's VFs appear on the bus: the kernel numbers VF n at the PF's routing ID +
/// First VF Offset + n × VF Stride (`pci_iov_virtfn_bus/devfn()` in drivers/pci/iov.c).
public struct VFLayout: Sendable, Equatable {
    public var offset: Int
    public var stride: Int

    public init(offset: Int, stride: Int) {
        self.offset = offset
        self.stride = stride
    }

    /// The addresses of VFs 0..<count, or nil when one would fall off the bus.
    public func addresses(of pf: PCIAddress, count: Int) -> [PCIAddress]? {
        let rid = Int(pf.bus) << 8 | Int(pf.device) << 3 | Int(pf.function)
        var out: [PCIAddress] = []
        for n in 0..<count {
            let vf = rid + offset + n * stride
            guard vf >= 0, vf <= 0xffff else { return nil }
            out.append(PCIAddress(domain: pf.domain, bus: UInt8(vf >> 8), device: UInt8((vf >> 3) & 0x1f), function: UInt8(vf & 7)))
        }
        return out
    }
}

/// The writes that change a PF's VF count, and what they do to its VFs. Pure data: a dry run
/// prints it, tests assert it, the service carries it out.
public struct SRIOVPlan: Sendable, Equatable {
    public var request: SRIOVRequest
    public var pf: PCIAddress
    public var pfDriver: String?
    public var totalVFs: Int
    /// `sriov_numvfs` and `sriov_drivers_autoprobe` now.
    public var currentNumVFs: Int
    public var currentAutoprobe: Bool?
    /// The VFs there are now.
    public var currentVFs: [PCIAddress]
    /// The VFs the writes remove (every current one when the count changes).
    public var removed: [PCIAddress]
    /// Of those, the ones on a VFIO driver: a guest may be using them.
    public var removedOnVFIO: [PCIAddress]
    /// Where the new VFs will appear (nil when the PF does not say).
    public var created: [PCIAddress]?
    /// The autoprobe and `sriov_numvfs` writes, in order.
    public var steps: [OperationStep]
    /// The record the state file holds once it ran (the first originals kept).
    public var record: SRIOVRecord
    /// `--msix`: the vectors each VF gets before it is bound.
    public var msix: Int?
    /// `--msix` with the same count: the VFs that have a driver now, which lose it for the
    /// write and get it back after (the kernel changes the count only on a VF without one).
    public var msixRebind: [MSIXRebind] = []

    /// The count changes, so VFs are created or removed.
    public var changesCount: Bool { currentNumVFs != request.numVFs }
}

/// A VF that has a driver while its `sriov_vf_msix_count` is written: how it was, to put back.
public struct MSIXRebind: Sendable, Equatable {
    public var address: PCIAddress
    public var state: DriverState

    public init(address: PCIAddress, state: DriverState) {
        self.address = address
        self.state = state
    }
}

/// How the VFs' bind went (or would go), once the count is right.
public enum SRIOVBind: Sendable {
    /// No `--bind`.
    case none
    /// Dry run with VFs that do not exist yet: the steps each new VF would get.
    case predicted(driver: String, steps: [OperationStep])
    /// The bind plan for the VFs that exist.
    case plan(BindPlan)
}
