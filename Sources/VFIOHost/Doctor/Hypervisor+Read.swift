import VFIOModel

extension Hypervisor {
    /// nil on bare metal (no `hypervisor` flag and no /sys/hypervisor type).
    public static func read(root: HostRoot) -> Hypervisor? {
        let cpuinfo = Sysfs.readBytes(root.path("/proc/cpuinfo"), limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let flagged = cpuinfo.split(separator: "\n").contains { line in
            line.hasPrefix("flags") && line.split(separator: " ").contains("hypervisor")
        }
        // Xen guests (PV ones have no such CPU flag) have /sys/hypervisor/type.
        let xen = Sysfs.read(root.path("/sys/hypervisor/type"))
        guard flagged || xen != nil else { return nil }
        return Hypervisor(product: product(vendor: Sysfs.read(root.path("/sys/class/dmi/id/sys_vendor")), name: Sysfs.read(root.path("/sys/class/dmi/id/product_name")), xen: xen))
    }
}
