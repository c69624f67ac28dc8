/// Host-absolute sysfs paths the operations write. Every name in them is validated first: a
/// `PCIAddress` can only format as `DDDD:BB:DD.F`, and driver names pass `DriverName.isSafe`.
public enum SysfsPaths {
    public static func device(_ address: PCIAddress) -> String { "/sys/bus/pci/devices/" + address.description }
    public static func driverOverride(_ address: PCIAddress) -> String { device(address) + "/driver_override" }
    public static func driverLink(_ address: PCIAddress) -> String { device(address) + "/driver" }
    public static func driverDirectory(_ driver: String) -> String { "/sys/bus/pci/drivers/" + driver }
    public static func unbind(_ driver: String) -> String { driverDirectory(driver) + "/unbind" }
    public static func bind(_ driver: String) -> String { driverDirectory(driver) + "/bind" }
    /// How many VFs a PF has enabled; writing it creates or removes them.
    public static func numVFs(_ pf: PCIAddress) -> String { device(pf) + "/sriov_numvfs" }
    /// Whether host drivers probe a PF's new VFs as they are created.
    public static func driversAutoprobe(_ pf: PCIAddress) -> String { device(pf) + "/sriov_drivers_autoprobe" }
    /// MSI-X vectors of a VF without a driver, where the PF's driver offers it.
    public static func vfMSIXCount(_ vf: PCIAddress) -> String { device(vf) + "/sriov_vf_msix_count" }
    /// The MSI-X vectors a PF's driver can hand out to its VFs (present only where it can).
    public static func vfTotalMSIX(_ pf: PCIAddress) -> String { device(pf) + "/sriov_vf_total_msix" }
    public static let driversProbe = "/sys/bus/pci/drivers_probe"
    public static let noiommuParameter = "/sys/module/vfio/parameters/enable_unsafe_noiommu_mode"
}
