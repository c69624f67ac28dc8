/// Which of VFIO's user interfaces the running kernel offers, read from sysfs and `/dev`.
///
/// Since 6.6 the group interface is optional (`CONFIG_VFIO_GROUP`): without it there is no
/// `/dev/vfio/N`, no `/dev/vfio/vfio` and no `vfio` class, and a device is reached only
/// through its cdev `/dev/vfio/devices/vfioX` with `/dev/iommu` (`CONFIG_VFIO_DEVICE_CDEV`,
/// `CONFIG_IOMMUFD`). See docs/kernel-notes.md, "The VFIO interfaces".
public struct VFIOInterfaces: Sendable, Equatable {
    /// Group nodes `/dev/vfio/N` exist for VFIO-bound groups: group.c registers the `vfio`
    /// class when vfio loads, and the container `/dev/vfio/vfio` needs the group interface.
    public var groups: Bool
    /// Device cdevs `/dev/vfio/devices/vfioX` exist for VFIO-bound devices (an IOMMU-backed
    /// device's `vfio-dev/vfioX` then has a `dev` attribute).
    public var cdevs: Bool

    public init(groups: Bool, cdevs: Bool) {
        self.groups = groups
        self.cdevs = cdevs
    }

    /// VFIO is loaded but offers only the device cdev (a `CONFIG_VFIO_GROUP=n` kernel).
    public var cdevOnly: Bool { cdevs && !groups }
}
