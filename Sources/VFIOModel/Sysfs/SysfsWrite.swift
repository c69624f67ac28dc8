/// One write to a kernel attribute, as what it means: which device, which driver, which
/// attribute. The path and the exact bytes follow from that, so the executor and the dry-run
/// printer read the address and driver as values and never take a path apart.
///
/// Paths are host-absolute (`/sys/bus/pci/...`); the writer resolves them under its root
/// prefix, so a plan is the same on a host and on a fixture. Every name in them is validated
/// before a write is built: a `PCIAddress` only formats as `DDDD:BB:DD.F`, and driver names
/// pass `DriverName.isSafe`.
public struct SysfsWrite: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// `devices/<address>/driver_override` ← the driver's name, or nil to clear it.
        case setOverride(PCIAddress, driver: String?)
        /// `drivers/<driver>/unbind` ← the address.
        case unbind(PCIAddress, from: String)
        /// `drivers/<driver>/bind` ← the address: exactly this driver, or an error.
        case bind(PCIAddress, to: String)
        /// `drivers_probe` ← the address: the kernel picks the driver (`driver_override` decides).
        case probe(PCIAddress)
        /// `devices/<pf>/sriov_numvfs` ← the count: creates or removes the PF's VFs.
        case setNumVFs(PCIAddress, count: Int)
        /// `devices/<pf>/sriov_drivers_autoprobe` ← 1 or 0: whether host drivers probe new VFs.
        case setAutoprobe(PCIAddress, enabled: Bool)
        /// `devices/<vf>/sriov_vf_msix_count` ← the count (the VF must have no driver).
        case setMSIXCount(PCIAddress, count: Int)
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }

    public static func setOverride(_ address: PCIAddress, to driver: String?) -> SysfsWrite { SysfsWrite(.setOverride(address, driver: driver)) }
    public static func unbind(_ address: PCIAddress, from driver: String) -> SysfsWrite { SysfsWrite(.unbind(address, from: driver)) }
    public static func bind(_ address: PCIAddress, to driver: String) -> SysfsWrite { SysfsWrite(.bind(address, to: driver)) }
    public static func probe(_ address: PCIAddress) -> SysfsWrite { SysfsWrite(.probe(address)) }
    public static func setNumVFs(_ pf: PCIAddress, to count: Int) -> SysfsWrite { SysfsWrite(.setNumVFs(pf, count: count)) }
    public static func setAutoprobe(_ pf: PCIAddress, to enabled: Bool) -> SysfsWrite { SysfsWrite(.setAutoprobe(pf, enabled: enabled)) }
    public static func setMSIXCount(_ vf: PCIAddress, to count: Int) -> SysfsWrite { SysfsWrite(.setMSIXCount(vf, count: count)) }

    /// The device the write is about.
    public var address: PCIAddress {
        switch kind {
        case .setOverride(let address, _), .unbind(let address, _), .bind(let address, _), .probe(let address): address
        case .setNumVFs(let address, _), .setAutoprobe(let address, _), .setMSIXCount(let address, _): address
        }
    }

    /// The driver it names: the override's, the one unbound from or bound to; nil for a probe
    /// or a cleared override.
    public var driver: String? {
        switch kind {
        case .setOverride(_, let driver): driver
        case .unbind(_, let driver), .bind(_, let driver): driver
        case .probe, .setNumVFs, .setAutoprobe, .setMSIXCount: nil
        }
    }

    /// Host-absolute path of the attribute.
    public var path: String {
        switch kind {
        case .setOverride(let address, _): SysfsPaths.driverOverride(address)
        case .unbind(_, let driver): SysfsPaths.unbind(driver)
        case .bind(_, let driver): SysfsPaths.bind(driver)
        case .probe: SysfsPaths.driversProbe
        case .setNumVFs(let pf, _): SysfsPaths.numVFs(pf)
        case .setAutoprobe(let pf, _): SysfsPaths.driversAutoprobe(pf)
        case .setMSIXCount(let vf, _): SysfsPaths.vfMSIXCount(vf)
        }
    }

    /// The exact bytes, with the trailing newline `echo` would add. Clearing `driver_override`
    /// writes a bare newline: the kernel ignores a 0-byte write.
    public var value: String {
        switch kind {
        case .setOverride(_, let driver): (driver ?? "") + "\n"
        case .unbind(let address, _), .bind(let address, _), .probe(let address): address.description + "\n"
        case .setNumVFs(_, let count), .setMSIXCount(_, let count): String(count) + "\n"
        case .setAutoprobe(_, let enabled): (enabled ? "1" : "0") + "\n"
        }
    }

    /// The equivalent shell line, e.g. `echo vfio-pci > /sys/bus/pci/devices/…/driver_override`.
    /// Values are driver names and PCI addresses, so they need no quoting.
    public func shellLine(root: HostRoot) -> String {
        let target = root.path(path)
        if value == "\n" { return "echo > " + target }
        return "echo " + value.dropLast() + " > " + target
    }

    public var description: String { shellLine(root: HostRoot()) }
}
