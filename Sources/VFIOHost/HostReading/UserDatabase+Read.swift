import VFIOModel

extension UserDatabase {
    /// `/etc/passwd` and `/etc/group` under `root`; a missing file reads as empty.
    public static func read(root: HostRoot) -> UserDatabase {
        let passwd = Sysfs.readBytes(root.etc + "/passwd", limit: 16 << 20).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let group = Sysfs.readBytes(root.etc + "/group", limit: 16 << 20).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return parse(passwd: passwd, group: group)
    }
}
