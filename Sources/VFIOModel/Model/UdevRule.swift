/// The udev rule that keeps a device's VFIO nodes with their owner when the kernel makes them
/// again (a rebind, `cycle`, a reboot for `apply`). One file per device; nothing matches
/// `/dev/vfio/*` as a whole, and `/dev/vfio/vfio` is never touched.
///
/// Why these matches (docs/kernel-notes.md, "Who may open a VFIO node"): the group's device
/// (`vfio_group_alloc()`) has no parent, so it sits at `/sys/devices/virtual/vfio/N` and
/// `KERNELS=="<address>"` can never match it; it is found by its name, the IOMMU group number,
/// together with a `TEST` that the PCI device is a member of that group. The device cdev
/// (`vfio_device_add()`) is a child of the PCI device, so `KERNELS==` matches it directly.
public struct UdevRule: Sendable, Equatable {
    public var address: PCIAddress
    public var owner: NodeOwner
    /// From `apply` (kept under /etc, across reboots) rather than a bind (under /run).
    public var persistent: Bool

    public init(address: PCIAddress, owner: NodeOwner, persistent: Bool) {
        self.address = address
        self.owner = owner
        self.persistent = persistent
    }

    /// `/run/udev/rules.d` for a bind, `/etc/udev/rules.d` for `apply`.
    public static func directory(persistent: Bool) -> String { persistent ? "/etc/udev/rules.d" : "/run/udev/rules.d" }

    /// `70-vfioctl-0000-01-00.0.rules`: after the distribution's defaults (50-…), so its
    /// assignments win.
    public static func fileName(_ address: PCIAddress) -> String {
        "70-vfioctl-" + address.description.replacingColons + ".rules"
    }

    public var path: String { Self.directory(persistent: persistent) + "/" + Self.fileName(address) }

    /// Each line also tests that its own file still exists. systemd-udevd's workers keep the
    /// rules they were forked with, and a worker busy with the old node's `remove` event when
    /// `udevadm control --reload` arrives can be handed the new node's `add` next, old rules
    /// and all: in the guest (systemd 252, Debian's 6.12) a node made right after an unbind was
    /// still given to the removed owner now and then, reload or not. `TEST` is evaluated when
    /// the event runs, so a removed file's rule no longer matches anywhere.
    public var text: String {
        let assign = "TEST==\"\(path)\", OWNER=\"\(owner.uid)\", GROUP=\"\(owner.gid)\", MODE=\"\(owner.modeText)\""
        let writer = persistent ? "vfioctl apply (owner= in /etc/vfioctl.conf)" : "vfioctl bind --owner"
        return """
            # \(address) belongs to \(owner.description): written by \(writer), removed when vfioctl gives the device back.
            # The IOMMU group's node (/dev/vfio/N, a virtual device): the group whose members include \(address).
            ACTION=="add|change", SUBSYSTEM=="vfio", KERNEL=="[0-9]*", TEST=="/sys/kernel/iommu_groups/$kernel/devices/\(address)", \(assign)
            # The device's own cdev (/dev/vfio/devices/vfioX), a child of the PCI device.
            ACTION=="add|change", SUBSYSTEM=="vfio-dev", KERNELS=="\(address)", \(assign)

            """
    }
}

extension String {
    fileprivate var replacingColons: String { String(map { $0 == ":" ? "-" : $0 }) }
}
