extension DriverName {
    /// The current driver's name becomes a path component (drivers/<name>/unbind), so every
    /// device a plan moves must be on a driver with a safe name.
    /// - Throws: `.unavailable` for the first device whose driver name is not safe.
    static func requireSafeCurrentDrivers(_ devices: [PCIDevice]) throws(VFIOError) {
        for device in devices {
            if let current = device.driver, !isSafe(current) {
                throw .unavailable("\(device.address) is bound to a driver with an unexpected name '\(Target.printableText(current))'; nothing was changed")
            }
        }
    }
}
