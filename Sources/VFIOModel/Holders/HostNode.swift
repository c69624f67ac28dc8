/// A device node that belongs to a PCI function while it is on its host driver: a character or
/// block device whose sysfs directory lies below the function's (a DRM `card0`/`renderD128`, a
/// sound `controlC0`, the NVMe controller `nvme0` and its namespaces, a USB device below a USB
/// controller), or a dm/md device stacked on one of its block devices.
public struct HostNode: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable {
        case char
        case block
    }

    public var kind: Kind
    /// Where udev and devtmpfs put it: `/dev/` + the uevent's `DEVNAME` (`/dev/dri/card0`).
    public var path: String
    public var number: DeviceNumber
    /// For a stacked block device, what it sits on (`dm-0 (vg-root) on nvme0n1p1`).
    public var via: String?

    public init(kind: Kind, path: String, number: DeviceNumber, via: String? = nil) {
        self.kind = kind
        self.path = path
        self.number = number
        self.via = via
    }
}
