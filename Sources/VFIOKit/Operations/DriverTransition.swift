/// Which driver a device is bound to and what its `driver_override` says: the two things a bind,
/// an unbind or a rollback changes, and what the state file remembers.
public struct DriverState: Sendable, Hashable, Codable, CustomStringConvertible {
    /// nil when no driver is bound.
    public var driver: String?
    /// nil when unset (`(null)` in sysfs).
    public var override: String?

    public init(driver: String?, override: String?) {
        self.driver = driver
        self.override = override
    }

    public init(_ device: PCIDevice) {
        self.init(driver: device.driver, override: device.driverOverride)
    }

    public var description: String {
        (driver ?? "no driver") + (override.map { " (driver_override " + $0 + ")" } ?? "")
    }
}

/// One step of an operation. Writes are exact; the others are checks or actions the executor
/// performs around them.
public enum OperationStep: Sendable, Hashable {
    /// `modprobe MODULE` because `/sys/bus/pci/drivers/MODULE` is missing.
    case loadModule(String)
    case write(SysfsWrite)
    /// The device's `driver` link must name `driver` (nil: no driver). For a VFIO driver the
    /// executor also checks `vfio-dev/` and the group node, where the kernel makes them.
    case verify(PCIAddress, driver: String?)

    /// The equivalent shell line; checks are comments, so a printed plan is still a script.
    public func shellLine(root: HostRoot) -> String {
        switch self {
        case .loadModule(let module):
            return "modprobe " + module
        case .write(let write):
            return write.shellLine(root: root)
        case .verify(let address, let driver):
            return "# verify: " + root.path(SysfsPaths.driverLink(address)) + " -> " + (driver ?? "(no driver)")
        }
    }
}

/// Host-absolute sysfs paths the operations write. Every name in them is validated first: a
/// `PCIAddress` can only format as `DDDD:BB:DD.F`, and driver names pass `DriverName.isSafe`.
public enum SysfsPaths {
    public static func device(_ address: PCIAddress) -> String { "/sys/bus/pci/devices/" + address.description }
    public static func driverOverride(_ address: PCIAddress) -> String { device(address) + "/driver_override" }
    public static func driverLink(_ address: PCIAddress) -> String { device(address) + "/driver" }
    public static func driverDirectory(_ driver: String) -> String { "/sys/bus/pci/drivers/" + driver }
    public static func unbind(_ driver: String) -> String { driverDirectory(driver) + "/unbind" }
    public static func bind(_ driver: String) -> String { driverDirectory(driver) + "/bind" }
    public static let driversProbe = "/sys/bus/pci/drivers_probe"
    public static let noiommuParameter = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
}

/// Moves one device from one `DriverState` to another with the writes the kernel needs, in the
/// order it needs them (docs/kernel-notes.md, "Bind and release sequences"). Pure: bind, rollback
/// and restore all use it.
public enum DriverTransition {
    /// How the device gets its new driver once it is free.
    public enum Attach: Sendable {
        /// `drivers_probe` ← BDF: the kernel picks the driver, which `driver_override` decides.
        case probe
        /// `drivers/<driver>/bind` ← BDF: exactly this driver, or an error.
        case bind
    }

    /// The steps from `current` to `target`, ending with a verification of the driver link.
    /// Nothing is emitted for what is already right, so a repeated transition is empty.
    ///
    /// Order, and why:
    /// 1. `driver_override` first: once it names the new driver no other driver can grab the
    ///    device between the unbind and the probe, and it makes every other driver's `bind`
    ///    fail with ENODEV. When the target keeps an override that names a *different* driver
    ///    than the one to bind (rare), the override is cleared first and written last, because
    ///    the bind would otherwise fail the override match.
    /// 2. unbind the current driver (if it is not the target).
    /// 3. attach the target driver.
    /// 4. verify: probe "success" means nothing, only the `driver` link does.
    public static func steps(
        for address: PCIAddress, from current: DriverState, to target: DriverState, attach: Attach = .probe
    ) -> [OperationStep] {
        var steps: [OperationStep] = []
        let driverChanges = current.driver != target.driver
        // The override in force while the device is attached.
        var overrideDuringAttach = target.override
        if driverChanges, let driver = target.driver, let override = target.override, override != driver {
            overrideDuringAttach = nil
        }
        if current.override != overrideDuringAttach {
            steps.append(.write(.setOverride(address, to: overrideDuringAttach)))
        }
        if driverChanges {
            if let old = current.driver {
                steps.append(.write(.unbind(address, from: old)))
            }
            if let new = target.driver {
                // drivers_probe only picks `new` when the override says so; otherwise name it.
                if attach == .probe && overrideDuringAttach == new {
                    steps.append(.write(.probe(address)))
                } else {
                    steps.append(.write(.bind(address, to: new)))
                }
            }
        }
        if overrideDuringAttach != target.override {
            steps.append(.write(.setOverride(address, to: target.override)))
        }
        if !steps.isEmpty || driverChanges {
            steps.append(.verify(address, driver: target.driver))
        }
        return steps
    }
}
