import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

extension ProxmoxGuest {
    /// `/etc/pve/qemu-server/VMID.conf`, or `conf` (a path as given, for tests and other layouts).
    public static func load(vmid: String, root: HostRoot, conf: String? = nil) throws(VFIOError) -> ProxmoxGuest {
        try validate(vmid: vmid)
        let shown = conf ?? "/etc/pve/qemu-server/\(vmid).conf"
        let path = conf ?? root.path(shown)
        guard let bytes = Sysfs.readBytes(path, limit: 1 << 20) else { throw .usage("cannot read \(shown)") }
        return ProxmoxGuest(vmid: vmid, entries: try ProxmoxConfig.hostPCI(String(decoding: bytes, as: UTF8.self), file: shown))
    }

    /// The node name Proxmox uses: the short host name (`/etc/hostname` under the root
    /// prefix, else the kernel's), up to the first dot.
    public static func nodeName(root: HostRoot) -> String {
        var name = Sysfs.read(root.path("/etc/hostname")) ?? ""
        if name.isEmpty {
            var uts = utsname()
            if uname(&uts) == 0 {
                name = withUnsafeBytes(of: &uts.nodename) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }
            }
        }
        return String(name.split(separator: ".").first ?? "")
    }
}
