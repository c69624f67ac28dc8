import VFIOModel

/// The VFIO aliases of the running kernel's modules: `/lib/modules/RELEASE/modules.alias` under
/// the root prefix, RELEASE from `/proc/sys/kernel/osrelease` (what `uname -r` prints), so a
/// fixture tree names its own kernel.
public enum ModuleAliasReader {
    public static func path(root: HostRoot) -> String? {
        guard let release = Sysfs.read(root.path("/proc/sys/kernel/osrelease")), !release.isEmpty, !release.contains("/"), release != "..", release != "."
        else { return nil }
        return "/lib/modules/" + release + "/modules.alias"
    }

    /// The aliases; empty when the file is missing (a kernel without modules: only vfio-pci).
    public static func read(root: HostRoot) -> [VFIOAlias] {
        guard let path = path(root: root), let bytes = Sysfs.readBytes(root.path(path), limit: 64 << 20) else { return [] }
        return VFIOAlias.parse(bytes: bytes)
    }
}
