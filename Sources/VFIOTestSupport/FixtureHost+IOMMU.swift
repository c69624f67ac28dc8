import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// IOMMU units as each kind registers them in sysfs (drivers/iommu/iommu-sysfs.c: a class
/// device under its parent, with a `device` link to it when it has one, and
/// `/sys/class/iommu/NAME` pointing at it), and the `iommu` links of the devices behind them.
extension FixtureHost {
    /// Intel VT-d: `dmarN` has no parent (`/sys/devices/virtual/iommu/dmarN`) and an
    /// `intel-iommu/` attribute group with the capability registers.
    @discardableResult
    public func addIntelUnit(_ name: String = "dmar0", cap: String = "0xd2008c40660462", ecap: String) -> String {
        let dir = path + "/sys/devices/virtual/iommu/" + name
        mkdirs(dir + "/intel-iommu")
        writeFile(dir + "/intel-iommu/cap", cap + "\n")
        writeFile(dir + "/intel-iommu/ecap", ecap + "\n")
        writeFile(dir + "/intel-iommu/version", "1:0\n")
        linkClass(name, dir)
        return name
    }

    /// AMD-Vi: `ivhdN` hangs below the IOMMU's own PCI function and has `amd-iommu/cap` and
    /// `features`.
    @discardableResult
    public func addAMDUnit(_ name: String = "ivhd0", function: PCIAddress, features: String = "0x246577efa2254afa") -> String {
        guard let parent = devicePath(function) else { preconditionFailure("add \(function) first") }
        let dir = parent + "/iommu/" + name
        mkdirs(dir + "/amd-iommu")
        writeFile(dir + "/amd-iommu/cap", "0x190b6411\n")
        writeFile(dir + "/amd-iommu/features", features + "\n")
        symlink("../..", dir + "/device")
        linkClass(name, dir)
        return name
    }

    /// virtio-iommu: a virtio device `virtioN` below its virtio-pci function, bound to
    /// `virtio_iommu`, with the unit below it named after the PCI function.
    @discardableResult
    public func addVirtioIOMMU(function: PCIAddress, virtio: String = "virtio0") -> String {
        guard let parent = devicePath(function) else { preconditionFailure("add \(function) first") }
        let virtioDir = parent + "/" + virtio
        mkdirs(virtioDir)
        let driverDir = path + "/sys/bus/virtio/drivers/virtio_iommu"
        mkdirs(driverDir)
        symlink(relative(from: virtioDir, to: driverDir), virtioDir + "/driver")
        let name = function.description
        let dir = virtioDir + "/iommu/" + name
        mkdirs(dir)
        symlink("../..", dir + "/device")
        linkClass(name, dir)
        return name
    }

    /// A platform-device IOMMU such as an ARM SMMU: `/sys/devices/platform/DEVICE` bound to
    /// `driver` (`arm-smmu-v3`, `arm-smmu`), the unit below it.
    @discardableResult
    public func addPlatformUnit(_ name: String, device: String, driver: String) -> String {
        let parent = path + "/sys/devices/platform/" + device
        mkdirs(parent)
        let driverDir = path + "/sys/bus/platform/drivers/" + driver
        mkdirs(driverDir)
        symlink(relative(from: parent, to: driverDir), parent + "/driver")
        let dir = parent + "/iommu/" + name
        mkdirs(dir)
        symlink("../..", dir + "/device")
        linkClass(name, dir)
        return name
    }

    /// A unit with neither a parent nor attributes vfioctl knows.
    @discardableResult
    public func addBareUnit(_ name: String) -> String {
        let dir = path + "/sys/devices/virtual/iommu/" + name
        mkdirs(dir)
        linkClass(name, dir)
        return name
    }

    /// Points the `iommu` link of every function in the tree (or only `addresses`) at `unit`.
    public func placeBehind(_ unit: String, _ addresses: [PCIAddress]? = nil) {
        guard let unitDir = realPathOf(path + "/sys/class/iommu/" + unit) else { preconditionFailure("no unit \(unit)") }
        for address in addresses ?? Array(specs.keys) {
            guard let dir = devicePath(address) else { continue }
            unlink(dir + "/iommu")
            symlink(relative(from: dir, to: unitDir), dir + "/iommu")
        }
    }

    /// `/proc/interrupts` with one MSI-X row per `chip` (e.g. `IR-PCI-MSIX-0000:00:02.0`) and
    /// the architecture's own rows.
    public func writeInterrupts(chips: [String], x86: Bool = true) {
        var text = "           CPU0\n"
        if x86 { text += "  0:         44   IO-APIC   2-edge      timer\n" }
        for (n, chip) in chips.enumerated() { text += "  \(24 + n):          0  \(chip)  0-edge      queue\(n)\n" }
        if x86 { text += "LOC:      12345   Local timer interrupts\n" } else { text += "IPI0:       12       Rescheduling interrupts\n" }
        write("/proc/interrupts", text)
    }

    private func linkClass(_ name: String, _ dir: String) {
        mkdirs(path + "/sys/class/iommu")
        symlink(relative(from: path + "/sys/class/iommu", to: dir), path + "/sys/class/iommu/" + name)
    }

    private func realPathOf(_ p: String) -> String? {
        guard let resolved = realpath(p, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The IOMMU a fixture host is built with (`FixtureLayout.iommuHost`).
public enum FixtureIOMMU: Sendable {
    /// Intel VT-d; `ecap` bit 3 is interrupt-remapping support, `remapped` puts IR- chips in
    /// /proc/interrupts.
    case intel(ecap: String, remapped: Bool)
    /// AMD-Vi below its own PCI function (0000:00:00.2).
    case amd(remapped: Bool)
    /// virtio-iommu behind the virtio-pci function 0000:00:1a.0, on x86.
    case virtio
    /// virtio-iommu on arm64, with or without a GICv3 ITS.
    case virtioARM(its: Bool)
    /// ARM SMMUv3 (platform device `9050000.smmuv3`, driver arm-smmu-v3) on arm64.
    case smmuv3(its: Bool)
    /// A unit vfioctl does not know: no parent, no attributes.
    case unknown

    public var description: String {
        switch self {
        case .intel(let ecap, let remapped): "Intel ecap \(ecap)\(remapped ? ", IR chips" : ", no IR chips")"
        case .amd(let remapped): "AMD-Vi\(remapped ? ", IR chips" : ", no IR chips")"
        case .virtio: "virtio-iommu on x86"
        case .virtioARM(let its): "virtio-iommu on arm64\(its ? " with ITS" : " without ITS")"
        case .smmuv3(let its): "SMMUv3\(its ? " with ITS" : " without ITS")"
        case .unknown: "unknown unit"
        }
    }
}

extension FixtureLayout {
    /// The desktop layout behind one IOMMU unit of the given kind: the unit, every function's
    /// `iommu` link to it, /proc/interrupts, the architecture and a module list.
    public static func iommuHost(_ iommu: FixtureIOMMU, cmdline: String = "") -> FixtureHost {
        let host = FixtureLayout.desktop.build()
        var unit: String
        var x86 = true
        var chips = ["PCI-MSIX-0000:05:00.0"]
        switch iommu {
        case .intel(let ecap, let remapped):
            unit = host.addIntelUnit(ecap: ecap)
            if remapped { chips = ["IR-PCI-MSIX-0000:05:00.0", "IR-IO-APIC"] }
        case .amd(let remapped):
            host.add(FixtureDevice("0000:00:00.2", vendor: 0x1022, device: 0x1481, classCode: 0x080600, group: nil))
            unit = host.addAMDUnit(function: PCIAddress("0000:00:00.2")!)
            if remapped { chips = ["IR-PCI-MSIX-0000:05:00.0", "IR-IO-APIC"] }
        case .virtio:
            host.add(FixtureDevice("0000:00:1a.0", vendor: 0x1af4, device: 0x1057, classCode: 0x00ff00, driver: "virtio-pci", group: nil))
            unit = host.addVirtioIOMMU(function: PCIAddress("0000:00:1a.0")!)
        case .virtioARM(let its):
            host.add(FixtureDevice("0000:00:1a.0", vendor: 0x1af4, device: 0x1057, classCode: 0x00ff00, driver: "virtio-pci", group: nil))
            unit = host.addVirtioIOMMU(function: PCIAddress("0000:00:1a.0")!)
            x86 = false
            chips = [its ? "ITS-PCI-MSIX-0000:05:00.0" : "GICv2m-PCI-MSIX-0000:05:00.0"]
        case .smmuv3(let its):
            unit = host.addPlatformUnit("smmu3.0x0000000009050000", device: "9050000.smmuv3", driver: "arm-smmu-v3")
            x86 = false
            chips = [its ? "ITS-PCI-MSIX-0000:05:00.0" : "GICv2m-PCI-MSIX-0000:05:00.0"]
        case .unknown:
            unit = host.addBareUnit("iommu0")
        }
        host.placeBehind(unit, host.specs.keys.filter { $0.description != "0000:00:1a.0" && $0.description != "0000:00:00.2" })
        host.writeInterrupts(chips: chips, x86: x86)
        host.write("/proc/sys/kernel/arch", x86 ? "x86_64\n" : "aarch64\n")
        host.write("/proc/cmdline", cmdline + "\n")
        host.write("/proc/sys/kernel/osrelease", "6.12.0-test\n")
        host.write("/lib/modules/6.12.0-test/modules.dep", "kernel/drivers/vfio/pci/vfio-pci.ko: kernel/drivers/vfio/vfio.ko\n")
        return host
    }
}
