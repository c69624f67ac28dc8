/// Group viability as the kernel decides it since 5.19 (docs/kernel-notes.md): a group can be handed to
/// userspace only when no member is bound to a driver that uses the DMA API. No sysfs file says
/// so, so it is derived from the members' drivers.
public struct Viability: Sendable, Equatable, Codable {
    public var viable: Bool
    public var blockers: [Blocker]

    public struct Blocker: Sendable, Equatable, Codable {
        public var address: PCIAddress
        public var driver: String
        public var reason: String
    }

    /// How one member stands with respect to viability.
    public enum MemberState: Sendable, Equatable {
        case unbound
        case vfio(String)
        /// `pci-stub` or `pcieport`: they set `driver_managed_dma`, so they never block.
        case dmaManaged(String)
        case hostDriver(String)

        public var blocks: Bool {
            if case .hostDriver = self { return true }
            return false
        }
    }

    public static func state(of device: PCIDevice) -> MemberState {
        guard let driver = device.driver else { return .unbound }
        if device.isVFIOBound { return .vfio(driver) }
        if DriverName.dmaManagedHostDrivers.contains(driver) { return .dmaManaged(driver) }
        return .hostDriver(driver)
    }

    /// The verdict for a group whose PCI members are `members`.
    public static func evaluate(_ members: [PCIDevice]) -> Viability {
        var blockers: [Blocker] = []
        // Members usually come sorted (`HostInventory.members(of:)`); sorting anyway moved
        // every member of thousands of groups for `list --json`.
        for device in members.isInAddressOrder ? members : members.sorted(by: { $0.address < $1.address }) {
            guard case .hostDriver(let driver) = state(of: device) else { continue }
            let reason: String
            if device.isBridge {
                // Since 5.19 bridges get no exemption: only pcieport/pci-stub-bound ones are fine.
                reason = "bridge bound to \(driver), which uses the DMA API; vfio-pci cannot take bridges, unbind it or bind it to pci-stub"
            } else {
                reason = "bound to host driver \(driver), which uses the DMA API; it must move to vfio-pci or be unbound"
            }
            blockers.append(Blocker(address: device.address, driver: driver, reason: reason))
        }
        return Viability(viable: blockers.isEmpty, blockers: blockers)
    }
}
