import VFIOModel

extension VFIOInterfaces {
    public static func read(root: HostRoot) -> VFIOInterfaces {
        let groups = Sysfs.isDirectory(root.path("/sys/class/vfio")) || Sysfs.exists(root.devVFIO + "/vfio")
        var cdevs = Sysfs.isDirectory(root.devVFIO + "/devices")
        if !cdevs {
            // A bound device's class entry says so even before devtmpfs is looked at.
            let classDir = root.path("/sys/class/vfio-dev")
            cdevs = (Sysfs.list(classDir) ?? []).contains { Sysfs.exists(classDir + "/" + $0 + "/dev") }
        }
        return VFIOInterfaces(groups: groups, cdevs: cdevs)
    }
}
