/// vfioctl's own files on the host, as the host sees them (messages and dry runs name them; the
/// readers and writers put them under the root prefix).
public enum HostFiles {
    /// Where every device vfioctl moved came from (`StateStore`).
    public static let state = "/run/vfioctl/state.json"
    /// Taken by every mutating run (`HostLock`).
    public static let lock = "/run/vfioctl/lock"
}
