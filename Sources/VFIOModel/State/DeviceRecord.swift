/// What vfioctl remembers about one device it moved.
public struct DeviceRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Recorded before the first write of an operation; still there after a crash mid-way.
        case pending
        /// Moved and verified.
        case bound
        /// The operation failed and this device could not be returned; `currentDriver` says
        /// where it was left.
        case rollbackFailed = "rollback-failed"
    }

    public var address: PCIAddress
    @Nullable public var group: Int?
    /// The driver it had before vfioctl first moved it (nil: none).
    @Nullable public var originalDriver: String?
    /// Its `driver_override` before vfioctl first moved it (nil: unset).
    @Nullable public var originalOverride: String?
    /// The driver vfioctl bound it to.
    @Nullable public var boundDriver: String?
    public var status: Status
    /// Where it was left when a rollback failed; nil otherwise.
    @Nullable public var currentDriver: String?
    /// Who its VFIO nodes were given to (`bind --owner`); nil: left as the kernel makes them.
    @Nullable public var owner: NodeOwner?
    /// The VM it was bound for (a libvirt domain name or a Proxmox VMID, by `vfioctl hook`);
    /// nil for a bind by hand. Absent in older files.
    public var domain: String?
    /// When this record was last written, UTC, RFC 3339 (`2026-11-21T15:42:10Z`).
    public var time: String

    public init(
        address: PCIAddress, group: Int?, originalDriver: String?, originalOverride: String?, boundDriver: String?,
        status: Status, currentDriver: String? = nil, owner: NodeOwner? = nil, domain: String? = nil, time: String
    ) {
        self.owner = owner
        self.domain = domain
        self.address = address
        self.group = group
        self.originalDriver = originalDriver
        self.originalOverride = originalOverride
        self.boundDriver = boundDriver
        self.status = status
        self.currentDriver = currentDriver
        self.time = time
    }

    public var original: DriverState { DriverState(driver: originalDriver, override: originalOverride) }
}
