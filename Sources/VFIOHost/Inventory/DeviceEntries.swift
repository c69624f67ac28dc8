import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// What one `getdents64` of a PCI device directory says is there: the optional attributes and
/// links the inventory reads, and the `virtfnN` links of a PF.
///
/// The kernel hides attributes that do not apply (`reset_method` without a reset method,
/// `boot_vga` on anything but a VGA device, `sriov_*` without the SR-IOV capability, `physfn`
/// on anything but a VF, `vfio-dev/` unless a VFIO driver is bound, `driver` when unbound), so
/// trying to open each costs a failing system call for most of them on most functions. One
/// listing of the directory answers all of them.
struct DeviceEntries {
    /// The names the reader asks about; `bit` is the entry's place in `present`.
    enum Name: Int, CaseIterable {
        case uevent, vendor, device, classCode, subsystemVendor, subsystemDevice, revision, config
        case driverOverride, numaNode, resetMethod, bootVGA, enable
        case driver, iommuGroup, vfioDev, physfn
        case sriovTotalVFs, sriovNumVFs, sriovDriversAutoprobe, sriovVFDevice

        var fileName: StaticString {
            switch self {
            case .uevent: "uevent"
            case .vendor: "vendor"
            case .device: "device"
            case .classCode: "class"
            case .subsystemVendor: "subsystem_vendor"
            case .subsystemDevice: "subsystem_device"
            case .revision: "revision"
            case .config: "config"
            case .driverOverride: "driver_override"
            case .numaNode: "numa_node"
            case .resetMethod: "reset_method"
            case .bootVGA: "boot_vga"
            case .enable: "enable"
            case .driver: "driver"
            case .iommuGroup: "iommu_group"
            case .vfioDev: "vfio-dev"
            case .physfn: "physfn"
            case .sriovTotalVFs: "sriov_totalvfs"
            case .sriovNumVFs: "sriov_numvfs"
            case .sriovDriversAutoprobe: "sriov_drivers_autoprobe"
            case .sriovVFDevice: "sriov_vf_device"
            }
        }

        /// The names by length, so an entry is compared only with names of its own length.
        static let byLength: [[(Name, [UInt8])]] = {
            var table = [[(Name, [UInt8])]](repeating: [], count: 32)
            for name in allCases {
                let bytes = name.fileName.withUTF8Buffer { Array($0) }
                table[bytes.count].append((name, bytes))
            }
            return table
        }()
    }

    private var present: UInt32 = 0
    /// `(n, "virtfnN")` for each VF link of a PF, unsorted.
    var virtualFunctionLinks: [(Int, String)] = []

    func has(_ name: Name) -> Bool { present & (1 << UInt32(name.rawValue)) != 0 }

    /// Lists the directory `dir` refers to (from its own descriptor); nil when it cannot be read,
    /// and the reader then tries every attribute as before.
    init?(listing dir: borrowing SysfsDirectory) {
        var present: UInt32 = 0
        var links: [(Int, String)] = []
        let listed = dir.forEachOwnEntry { entry, _ in
            if entry.count < Name.byLength.count {
                for (name, bytes) in Name.byLength[entry.count]
                where bytes.withUnsafeBytes({ memcmp($0.baseAddress!, entry.baseAddress!, entry.count) }) == 0 {
                    present |= 1 << UInt32(name.rawValue)
                    return
                }
            }
            if entry.count > 6, entry.starts(with: "virtfn".utf8), let n = Int(String(decoding: entry[6...], as: UTF8.self)) {
                links.append((n, String(decoding: entry, as: UTF8.self)))
            }
        }
        guard listed else { return nil }
        self.present = present
        self.virtualFunctionLinks = links
    }
}
