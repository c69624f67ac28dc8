import SystemPackage

/// The one prefix under which every host path is read and written: `/` on a real host, a fixture
/// tree in tests, a chroot or rescue system otherwise. Paths are always built from a fixed
/// absolute path plus validated names, so nothing can escape the prefix.
public struct HostRoot: Sendable, Hashable {
    public let prefix: FilePath

    public init(_ prefix: FilePath = "/") {
        self.prefix = prefix
    }

    public init(path: String) {
        self.init(FilePath(path))
    }

    /// Resolves an absolute host path (e.g. `/sys/bus/pci/devices`) under the prefix. Built from
    /// components because `FilePath.pushing` would let an absolute path replace the prefix.
    public func path(_ absolute: FilePath) -> FilePath {
        prefix.appending(absolute.components)
    }

    public func path(_ absolute: String) -> String {
        path(FilePath(absolute)).string
    }

    public var isHostRoot: Bool { prefix == "/" }

    // MARK: - Well-known places

    public var pciDevices: String { path("/sys/bus/pci/devices") }
    public var pciDrivers: String { path("/sys/bus/pci/drivers") }
    public var sysBusPCI: String { path("/sys/bus/pci") }
    public var iommuGroups: String { path("/sys/kernel/iommu_groups") }
    public var iommuClass: String { path("/sys/class/iommu") }
    public var devVFIO: String { path("/dev/vfio") }
    public var proc: String { path("/proc") }
    public var run: String { path("/run/vfioctl") }
    public var etc: String { path("/etc") }

    public func device(_ address: PCIAddress) -> String { pciDevices + "/" + address.description }
    public func group(_ id: Int) -> String { iommuGroups + "/" + String(id) }
}
