import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

// Part 1 of `make bench`, the trees made from the fixture layouts: copies of the desktop layout
// (GPU with audio, chipset group, NVMe, PCIe switch, SR-IOV PF with VFs, conventional bridge, an
// ungrouped function), one copy per PCI domain, until there are at least FUNCTIONS functions.
//
//   fixture-tree FUNCTIONS DEST
//
// Every function also gets the `uevent` the kernel prints for it (DRIVER=, PCI_CLASS=, PCI_ID=,
// PCI_SUBSYS_ID=, PCI_SLOT_NAME=), which the unit tests' trees leave out. The tree is built
// under $TMPDIR and renamed to DEST (which must not exist, on the same filesystem). Prints one
// line: the number of functions and groups.
#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count == 3, let wanted = Int(args[1]), wanted > 0 else {
    let usage = "usage: fixture-tree FUNCTIONS DEST\n"
    _ = write(2, usage, usage.utf8.count)
    exit(64)
}
let layout = FixtureLayout.desktop
let perCopy = layout.truth.deviceCount
// Group numbers of one copy are below this.
let groupsPerCopy = (layout.truth.groups.keys.max() ?? 0) + 1
let host = FixtureHost()
var copies = 0
while copies * perCopy < wanted {
    layout.add(to: host, domain: UInt32(copies), groupBase: copies * groupsPerCopy)
    copies += 1
}
host.ensureDriver("vfio-pci")
host.ensureDriver("pci-stub")
for (address, spec) in host.specs {
    func hex(_ v: UInt16) -> String { hexString(UInt32(v), width: 4).uppercased() }
    guard let dir = host.devicePath(address) else { continue }
    let text =
        (host.driver(of: address).map { "DRIVER=" + $0 + "\n" } ?? "") + "PCI_CLASS=" + String(spec.classCode, radix: 16).uppercased() + "\n"
        + "PCI_ID=" + hex(spec.vendor) + ":" + hex(spec.device) + "\n" + "PCI_SUBSYS_ID=" + hex(spec.subsystemVendor) + ":"
        + hex(spec.subsystemDevice) + "\n" + "PCI_SLOT_NAME=" + address.description + "\n"
    host.write(String(dir.dropFirst(host.path.count)) + "/uevent", text)
}
guard rename(host.path, args[2]) == 0 else {
    let message = "fixture-tree: cannot move the tree to \(args[2]): errno \(errno)\n"
    _ = write(2, message, message.utf8.count)
    exit(1)
}
let groups = (Sysfs.list(args[2] + "/sys/kernel/iommu_groups") ?? []).count
print("\(host.specs.count) functions, \(groups) groups, \(copies) copies of the \(layout.rawValue) fixture layout")
