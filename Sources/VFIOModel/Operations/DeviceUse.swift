/// Something on the host that uses a PCI function, found before vfioctl takes the function away
/// from its driver.
public struct DeviceUse: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A filesystem on one of the function's block devices (or a dm/md/LVM device above them) is mounted.
        case mountedFilesystem = "mounted-filesystem"
        /// The root filesystem is on it: never forceable.
        case rootFilesystem = "root-filesystem"
        case swap
        /// A network interface on it is up with an address or a route.
        case networkInterface = "network-interface"
        /// The firmware's boot display (`boot_vga` = 1).
        case bootVGA = "boot-vga"
        /// A framebuffer (`/sys/class/graphics/fbN`) lives on it; the console may be drawing on it.
        case framebuffer
        /// An SR-IOV PF with VFs enabled: vfio-pci refuses it, and the VFs depend on it.
        case virtualFunctions = "virtual-functions"
        /// Bound to a VFIO driver and open by a process: unbinding it would block until it is closed.
        case openVFIODevice = "open-vfio-device"
        /// A host process has one of its host nodes open or mapped (`/dev/dri/card0`, `/dev/nvme0n1`…).
        case openDeviceNode = "open-device-node"
        /// A network interface on it is a port of a bridge.
        case bridgePort = "bridge-port"
        /// A network interface on it is a slave of a bond or team (or has another master).
        case bondSlave = "bond-slave"
        /// A network interface on it carries an upper device (VLAN, macvlan, ipvlan) that is up.
        case upperDevice = "upper-device"
        /// A network interface on it has an XDP program attached.
        case xdpProgram = "xdp-program"
    }

    public var address: PCIAddress
    public var kind: Kind
    /// What is in use, e.g. `nvme0n1p1 is mounted on /home`.
    public var what: String
    /// How to free it, e.g. `umount /home`.
    public var remedy: String
    /// Whether `--force` may override this check. The root filesystem and an open VFIO device
    /// never are: one takes the system down, the other hangs vfioctl in the kernel.
    public var forceable: Bool

    public init(address: PCIAddress, kind: Kind, what: String, remedy: String, forceable: Bool = true) {
        self.address = address
        self.kind = kind
        self.what = what
        self.remedy = remedy
        self.forceable = forceable
    }
}
