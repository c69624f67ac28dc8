import CLinuxShim
import VFIOModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Which file a `stat` names: the filesystem it lives on (`st_dev`) and its inode number.
public struct FileIdentity: Hashable, Sendable {
    public var device: DeviceNumber
    public var inode: UInt64

    public init(device: DeviceNumber, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}

/// Which character device number a file found by the holder scan stands for: the group node,
/// the device cdev or the container an fd, a mapping or a `/dev` entry points at.
///
/// On a host that is the `st_rdev` of a character node and nothing else (`.real`, the default
/// everywhere). A fixture, which may not be allowed to `mknod`, can add stand-ins: regular files
/// that count as the node with a declared number, recognised by their `FileIdentity`. Character
/// nodes always count by their own number, so real nodes work in a fixture too.
///
/// The scan asks this once per fd from the `statx` it already made: on a host that costs one
/// nil check per fd that is not a character node, and no system call.
public struct DeviceNumbers: Sendable {
    /// The number a regular file stands for; nil on a real host.
    let standIn: (@Sendable (FileIdentity) -> DeviceNumber?)?

    /// What the scan's `statx` calls ask for: the type, plus the inode where stand-ins need it.
    let statxMask: UInt32

    /// `st_rdev` of character nodes only.
    public static let real = DeviceNumbers(standIn: nil)

    /// Character nodes by `st_rdev`, and regular files for which `standIn` has a number.
    public static func withStandIns(_ standIn: @escaping @Sendable (FileIdentity) -> DeviceNumber?) -> DeviceNumbers {
        DeviceNumbers(standIn: standIn)
    }

    private init(standIn: (@Sendable (FileIdentity) -> DeviceNumber?)?) {
        self.standIn = standIn
        statxMask = UInt32(STATX_TYPE) | (standIn == nil ? 0 : UInt32(STATX_INO))
    }

    /// The number a file with `statx` result `info` stands for, if any.
    @inline(__always)
    func number(_ info: borrowing statx) -> DeviceNumber? {
        let type = UInt32(info.stx_mode) & UInt32(S_IFMT)
        if type == UInt32(S_IFCHR) { return DeviceNumber(major: info.stx_rdev_major, minor: info.stx_rdev_minor) }
        guard let standIn, type == UInt32(S_IFREG) else { return nil }
        return standIn(FileIdentity(device: DeviceNumber(major: info.stx_dev_major, minor: info.stx_dev_minor), inode: info.stx_ino))
    }

    /// The number of the file at `path` (symlinks followed), or nil.
    public func number(atPath path: String) -> DeviceNumber? {
        var info = statx()
        guard vfioctl_statx(AT_FDCWD, path, Int32(AT_STATX_DONT_SYNC), statxMask, &info) == 0 else { return nil }
        return number(info)
    }
}
