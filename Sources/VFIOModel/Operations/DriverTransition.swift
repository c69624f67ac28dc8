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
