import VFIOHost
import VFIOModel

extension CDISpec {
    /// Writes the spec to `path` (a real path, already under any root prefix) unless the file
    /// already has exactly this content; readers (a container runtime watching /etc/cdi) see
    /// the old or the new file, never a partial one.
    /// - Returns: whether the file changed.
    public func write(to path: String) throws(VFIOError) -> Bool {
        let bytes = encoded()
        if let current = Sysfs.readBytes(path, limit: 1 << 24), current == bytes { return false }
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let directory = slash == path.startIndex ? "/" : String(path[..<slash])
        try AtomicFile.write(bytes, to: path, directory: directory, mode: 0o644)
        return true
    }
}
