import VFIOModel

extension DesiredState {
    /// Reads `<root>/etc/vfioctl.conf` and `<root>/etc/vfioctl.conf.d/*.conf` (sorted), or one
    /// given file. A missing main file with no drop-ins is an empty state.
    public static func load(root: HostRoot, file: String? = nil) throws(VFIOError) -> DesiredState {
        if let file {
            guard let text = Sysfs.readBytes(file, limit: 1 << 22) else { throw .usage("cannot read \(file)") }
            return try parse(String(decoding: text, as: UTF8.self), file: file)
        }
        var state = DesiredState()
        let main = root.path("/etc/vfioctl.conf")
        if let text = Sysfs.readBytes(main, limit: 1 << 22) {
            state.merge(try parse(String(decoding: text, as: UTF8.self), file: "/etc/vfioctl.conf"))
        }
        let dropIns = root.path("/etc/vfioctl.conf.d")
        for name in (Sysfs.list(dropIns) ?? []).filter({ $0.hasSuffix(".conf") && !$0.hasPrefix(".") }).sorted() {
            guard let text = Sysfs.readBytes(dropIns + "/" + name, limit: 1 << 22) else { continue }
            state.merge(try parse(String(decoding: text, as: UTF8.self), file: "/etc/vfioctl.conf.d/" + name))
        }
        return state
    }
}
