import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// One inotify instance: the watches a waiter or the apply watcher sets up and the events it
/// reads back. Only a hint that something may have changed: every user re-reads the truth
/// (a /proc scan, the desired-state files) after an event, because inotify misses changes made
/// through other paths (mknod'ed copies, bind mounts) and may overflow.
final class Inotify {
    /// One queued event: which watch, what happened, and the entry's name (empty for the
    /// watched directory itself).
    struct Event: Equatable {
        var watch: Int32
        var mask: UInt32
        var name: String
    }

    let fd: Int32

    /// Nil when the kernel refuses an instance (EMFILE, ENOSYS in odd containers).
    init?() {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// The watch descriptor, or nil when `path` cannot be watched (missing, not readable).
    func add(_ path: String, mask: UInt32) -> Int32? {
        let wd = inotify_add_watch(fd, path, mask)
        return wd >= 0 ? wd : nil
    }

    func remove(_ watch: Int32) {
        inotify_rm_watch(fd, watch)
    }

    /// Reads every queued event without blocking.
    func drain() -> [Event] {
        var events: [Event] = []
        let size = 4096
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = Glibc.read(fd, buffer, size)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return events }
            var offset = 0
            // struct inotify_event { int wd; u32 mask; u32 cookie; u32 len; char name[len]; }
            while offset + 16 <= n {
                let wd = buffer.loadUnaligned(fromByteOffset: offset, as: Int32.self)
                let mask = buffer.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
                let length = Int(buffer.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                var name = ""
                if length > 0, offset + 16 + length <= n {
                    // The name is NUL-padded to the record's length.
                    let bytes = UnsafeRawBufferPointer(start: buffer + offset + 16, count: length)
                    name = String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                events.append(Event(watch: wd, mask: mask, name: name))
                offset += 16 + length
            }
        }
    }
}
