/// The host is a virtual machine: the CPU says so (the `hypervisor` flag in /proc/cpuinfo,
/// CPUID leaf 1 ECX bit 31, which hypervisors set and real CPUs leave clear) and the firmware's
/// DMI tables usually name the product. In a VM, the IOMMU a guest sees is one the hypervisor
/// emulates, not the host's VT-d or AMD-Vi, so the firmware setup is the wrong place to look.
public struct Hypervisor: Sendable, Equatable {
    /// From DMI (`sys_vendor`, `product_name`), or nil when it names nothing useful.
    public var product: String?

    public init(product: String?) {
        self.product = product
    }

    /// "QEMU Standard PC (Q35 + ICH9, 2009)"; nil when DMI names nothing.
    package static func product(vendor: String?, name: String?, xen: String?) -> String? {
        let parts = [vendor, name].compactMap { $0?.trimmingSpaces }.filter { !$0.isEmpty && $0 != "To Be Filled By O.E.M." }
        if parts.isEmpty { return xen.map { $0 == "xen" ? "Xen" : $0 } }
        return UntrustedText.printable(parts.joined(separator: " "))
    }

    public var description: String { product.map { "a virtual machine (\($0))" } ?? "a virtual machine" }

    /// Where the IOMMU of a guest comes from.
    public var iommuFix: String {
        "this is \(description): the hypervisor must give it an IOMMU, not the firmware setup; with QEMU add -device intel-iommu,intremap=on "
            + "(on -machine q35 with kernel-irqchip=split for interrupt remapping) or -device virtio-iommu-pci, with libvirt <iommu model='intel'/> "
            + "or model='virtio'; then boot the guest with intel_iommu=on for intel-iommu"
    }
}
