import VFIOModel

extension BindEnvironment {
    /// The kernel facts of the host under `root`.
    public static func read(root: HostRoot) -> BindEnvironment {
        let noiommu = Sysfs.read(root.path(SysfsPaths.noiommuParameter)).map { $0 == "Y" || $0 == "1" } ?? false
        return BindEnvironment(noiommuEnabled: noiommu, loadedDrivers: Set(Sysfs.list(root.pciDrivers) ?? []))
    }
}
