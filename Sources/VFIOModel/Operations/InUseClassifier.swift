/// What counts as host use of a PCI function, and how each use is worded, from the facts
/// `InUseDetector` read. Pure: no I/O.
package enum InUseClassifier {
    /// A block device on the function.
    package struct BlockDevice {
        package var name: String
        package var real: String
        package var devNumber: String?
        /// For device-mapper devices, the `dm/name` (what `/dev/mapper/NAME` is called).
        package var dmName: String?
        /// How it relates to the PCI function, for messages (`via dm-0 (vg-root)`).
        package var via: String?

        package init(name: String, real: String, devNumber: String? = nil, dmName: String? = nil, via: String? = nil) {
            self.name = name
            self.real = real
            self.devNumber = devNumber
            self.dmName = dmName
            self.via = via
        }
    }

    /// A mounted filesystem.
    package struct Mount {
        package var devNumber: String?
        package var source: String
        package var mountPoint: String
        package var fsType: String

        package init(devNumber: String? = nil, source: String, mountPoint: String, fsType: String) {
            self.devNumber = devNumber
            self.source = source
            self.mountPoint = mountPoint
            self.fsType = fsType
        }
    }

    /// Whether a `/dev/…` path names this block device (`/dev/nvme0n1p1`, `/dev/dm-0`, `/dev/mapper/vg-root`).
    package static func names(_ source: String, _ disk: BlockDevice) -> Bool {
        guard source.hasPrefix("/dev/") else { return false }
        let base = source.split(separator: "/").last.map(String.init) ?? ""
        if base == disk.name { return true }
        if let dmName = disk.dmName, source == "/dev/mapper/" + dmName { return true }
        return false
    }

    /// Filesystems mounted from the function's block devices (the root filesystem never
    /// forceable) and swap on them.
    package static func blockUses(_ address: PCIAddress, disks: [BlockDevice], mounts: [Mount], swaps: [String]) -> [DeviceUse] {
        var uses: [DeviceUse] = []
        for disk in disks {
            let label = disk.name + (disk.via.map { " (" + $0 + ")" } ?? "")
            // btrfs and overlay report anonymous device numbers (0:NN) in mountinfo, so the
            // source path is matched as well as the number.
            for mount in mounts where (disk.devNumber != nil && mount.devNumber == disk.devNumber) || names(mount.source, disk) {
                if mount.mountPoint == "/" {
                    uses.append(
                        DeviceUse(
                            address: address, kind: .rootFilesystem, what: label + " holds the root filesystem (/)",
                            remedy: "the running system lives on it; it cannot be given away", forceable: false))
                } else {
                    uses.append(
                        DeviceUse(
                            address: address, kind: .mountedFilesystem, what: label + " is mounted on " + mount.mountPoint,
                            remedy: "umount " + mount.mountPoint))
                }
            }
            for swap in swaps where names(swap, disk) {
                uses.append(DeviceUse(address: address, kind: .swap, what: label + " is in use as swap", remedy: "swapoff " + swap))
            }
        }
        return uses
    }

    /// An interface that is up is in use when it has an address or a route; up alone is not
    /// configuration.
    package static func networkUse(_ address: PCIAddress, interface name: String, addresses: [String], routes: [String]) -> DeviceUse? {
        guard !addresses.isEmpty || !routes.isEmpty else { return nil }
        var what = name + " is up"
        if !addresses.isEmpty { what += " with address " + addresses.joined(separator: ", ") }
        if !routes.isEmpty { what += (addresses.isEmpty ? " with " : " and ") + "route " + routes.joined(separator: ", ") }
        return DeviceUse(address: address, kind: .networkInterface, what: what, remedy: "ip link set " + name + " down")
    }

    /// A framebuffer on the function, with the framebuffer console bound to it if there is one.
    package static func framebufferUse(_ address: PCIAddress, framebuffer name: String, driverName: String?, console: String?) -> DeviceUse {
        var what = name + (driverName.map { " (" + $0 + ")" } ?? "") + " is a framebuffer on it; the console may be drawing on it"
        var remedy = "move the console off it and stop the display server"
        if let console {
            what += " (" + console + " is bound)"
            remedy = "echo 0 > /sys/class/vtconsole/" + console + "/bind, and stop the display server"
        }
        return DeviceUse(address: address, kind: .framebuffer, what: what, remedy: remedy)
    }
}
