import CLinuxShim
import Synchronization
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Plain files that stand for character nodes, by `FileIdentity`.
///
/// Each file is kept open for the registry's lifetime, so its inode cannot be freed
/// and reused by another file while the identity is registered: a stand-in removed from the tree
/// (or still open in a process after that) keeps its number, as an unlinked node keeps its
/// `st_rdev`, and no later file can take it over.
public final class StandInNodes: Sendable {
    private struct Entry {
        let number: DeviceNumber
        let fd: Int32
    }

    private let entries = Mutex<[FileIdentity: Entry]>([:])

    public init() {}

    deinit {
        entries.withLock { entries in
            for entry in entries.values { close(entry.fd) }
        }
    }

    public enum StandInError: Error, CustomStringConvertible {
        case create(String, Int32)
        public var description: String {
            switch self {
            case .create(let path, let code): "cannot create node stand-in \(path): " + String(cString: strerror(code))
            }
        }
    }

    /// Creates an empty file at `path` (which must not exist) standing for `number`.
    public func create(_ path: String, number: DeviceNumber) throws {
        let file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard file >= 0 else { throw StandInError.create(path, errno) }
        close(file)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        var info = statx()
        guard fd >= 0, vfioctl_statx(fd, "", Int32(AT_EMPTY_PATH), UInt32(STATX_INO), &info) == 0 else {
            let code = errno
            if fd >= 0 { close(fd) }
            throw StandInError.create(path, code)
        }
        let identity = FileIdentity(device: DeviceNumber(major: info.stx_dev_major, minor: info.stx_dev_minor), inode: info.stx_ino)
        let previous = entries.withLock { $0.updateValue(Entry(number: number, fd: fd), forKey: identity) }
        if let previous { close(previous.fd) }
    }

    /// The number the file `identity` stands for, if it is one of these.
    public func number(of identity: FileIdentity) -> DeviceNumber? {
        entries.withLock { $0[identity]?.number }
    }
}
