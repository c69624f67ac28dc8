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
