import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Writes a file so that readers see the old or the new content, never a mix, even across a
/// crash: temp + fsync + rename + fsync of the directory.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to path: String, directory: String, mode: mode_t) throws(VFIOError) {
        try makeDirectories(directory)
        let temp = path + ".tmp." + String(getpid())
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else { throw .failed("cannot create \(temp): \(String(cString: strerror(errno)))") }
        var offset = 0
        var failure: Int32 = 0
        bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                offset += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure == 0 && rename(temp, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temp)
            throw .failed("cannot write \(path): \(String(cString: strerror(failure)))")
        }
        // The rename is only durable once the directory entry is.
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            fsync(dirFD)
            close(dirFD)
        }
    }

    static func makeDirectories(_ dir: String) throws(VFIOError) {
        var current = ""
        for component in dir.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw .failed("cannot create \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}
