import SystemPackage
import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Changes the owner and mode of VFIO device nodes for real, under the root prefix. The node
/// is never opened (opening a group node claims the group), and a symlink is never followed:
/// anything but a character device (or, in a fixture tree, a plain file) is refused.
public struct RealNodeOwner: NodeOwning {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func setOwner(_ path: String, uid: UInt32, gid: UInt32) throws(SysfsWriteError) {
        let full = try checkedNode(path, value: "\(uid):\(gid)")
        guard fchownat(AT_FDCWD, full, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw SysfsWriteError(path: path, value: "\(uid):\(gid)", errno: Errno(rawValue: errno), detail: "chown")
        }
    }

    public func setMode(_ path: String, mode: UInt32) throws(SysfsWriteError) {
        let full = try checkedNode(path, value: NodeOwner.octal(mode))
        guard chmod(full, mode_t(mode)) == 0 else {
            throw SysfsWriteError(path: path, value: NodeOwner.octal(mode), errno: Errno(rawValue: errno), detail: "chmod")
        }
    }

    func checkedNode(_ path: String, value: String) throws(SysfsWriteError) -> String {
        let full = root.path(path)
        var info = stat()
        guard lstat(full, &info) == 0 else {
            throw SysfsWriteError(path: path, value: value, errno: Errno(rawValue: errno), detail: "lstat")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFCHR || type == S_IFREG else {
            throw SysfsWriteError(path: path, value: value, errno: nil, detail: "not a device node")
        }
        return full
    }
}
