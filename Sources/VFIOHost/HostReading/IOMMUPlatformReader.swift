import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads `IOMMUPlatform` under a root prefix: the units of `/sys/class/iommu` with their
/// `device` link, that device's driver and the kind-specific attributes, the interrupt chips
/// of `/proc/interrupts`, the architecture, VFIO's and iommufd's `allow_unsafe_interrupts`, and
/// for the groups asked about the unit behind them. Read only.
public struct IOMMUPlatformReader {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    /// - Parameter groups: the groups whose unit to look up (one readlink each).
    public func read(groups: [Int] = []) -> IOMMUPlatform {
        var platform = IOMMUPlatform()
        for name in (Sysfs.list(root.iommuClass) ?? []).sorted() where !name.contains("/") {
            platform.units.append(unit(name))
        }
        if let bytes = Sysfs.readBytes(root.path("/proc/interrupts"), limit: 1 << 22) {
            platform.interrupts = InterruptChips.parse(Substring(decoding: bytes, as: UTF8.self))
        }
        platform.architecture = Sysfs.read(root.path("/proc/sys/kernel/arch")).flatMap { $0.isEmpty ? nil : $0 }
        platform.type1AllowUnsafe = flag("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts")
        platform.iommufdAllowUnsafe = flag("/sys/module/iommufd/parameters/allow_unsafe_interrupts")
        platform.commandLine = (Sysfs.read(root.path("/proc/cmdline")) ?? "").split(separator: " ").map(String.init)
        for id in groups {
            let devices = root.iommuGroups + "/" + String(id) + "/devices"
            // Every member of a group sits behind the same unit; the first one says which.
            guard let first = (Sysfs.list(devices) ?? []).sorted().first, let unit = Sysfs.linkName(devices + "/" + first + "/iommu") else { continue }
            platform.groupUnits[id] = unit
        }
        return platform
    }

    func unit(_ name: String) -> IOMMUUnit {
        let dir = root.iommuClass + "/" + name
        var unit = IOMMUUnit(name: name)
        // The parent the unit was registered under (none for Intel DMAR units): a virtio device
        // for virtio-iommu, a platform device for the SMMUs, the IOMMU's PCI function for AMD.
        if let parent = realPath(dir + "/device") {
            let prefix = root.isHostRoot ? "" : root.prefix.string
            unit.parentDevice = parent.hasPrefix(prefix) ? String(parent.dropFirst(prefix.count)) : parent
            unit.parentDriver = Sysfs.linkName(parent + "/driver")
            unit.pciFunction = parent.split(separator: "/").reversed().lazy.compactMap { PCIAddress(String($0)) }.first
        }
        if Sysfs.isDirectory(dir + "/intel-iommu") {
            unit.hasIntelAttributes = true
            unit.intelCAP = hex(dir + "/intel-iommu/cap")
            unit.intelECAP = hex(dir + "/intel-iommu/ecap")
        }
        if Sysfs.isDirectory(dir + "/amd-iommu") {
            unit.hasAMDAttributes = true
            unit.amdFeatures = hex(dir + "/amd-iommu/features")
        }
        return unit
    }

    func hex(_ path: String) -> UInt64? {
        guard let text = Sysfs.read(path) else { return nil }
        return UInt64(text.hasPrefix("0x") ? String(text.dropFirst(2)) : text, radix: 16)
    }

    func flag(_ path: String) -> Bool? {
        Sysfs.read(root.path(path)).map { $0 == "Y" || $0 == "1" }
    }

    func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
