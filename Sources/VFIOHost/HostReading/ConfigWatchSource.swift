import CLinuxShim
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// The watcher's events on a real host: inotify on the desired-state files and `/dev/vfio`,
/// SIGTERM and SIGINT through a signalfd, and the monotonic clock.
///
/// The signals are blocked from the moment the source exists, so they can only be noticed in
/// `wait`, between passes: a pass in progress (a bind transaction with its rollback) always
/// runs to its end.
public final class ConfigWatchSource: WatchEventSource {
    private let inotify: Inotify
    private let signals: Int32
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    /// Directories to watch (real paths) and, for each, the entry names that matter (nil: all).
    private let directories: [(path: String, names: Set<String>?, nodes: Bool)]
    private var watches: [Int32: Int] = [:]

    /// Watches `<root>/etc/vfioctl.conf` and `<root>/etc/vfioctl.conf.d/`, or the one `file`
    /// (a real path, as `apply FILE` takes it), and `<root>/dev/vfio`.
    /// - Throws: `.failed` when inotify or the signalfd cannot be set up.
    public init(root: HostRoot, file: String? = nil) throws(VFIOError) {
        guard let inotify = Inotify() else { throw .failed("cannot watch the desired-state files: inotify: \(String(cString: strerror(errno)))") }
        let signals = vfioctl_stop_signalfd()
        guard signals >= 0 else { throw .failed("cannot set up SIGTERM handling: \(String(cString: strerror(errno)))") }
        self.inotify = inotify
        self.signals = signals
        started = clock.now
        var directories: [(String, Set<String>?, Bool)] = []
        if let file {
            let slash = file.lastIndex(of: "/")
            let directory = slash.map { $0 == file.startIndex ? "/" : String(file[..<$0]) } ?? "."
            let name = slash.map { String(file[file.index(after: $0)...]) } ?? file
            directories.append((directory, [name], false))
        } else {
            directories.append((root.path("/etc"), ["vfioctl.conf", "vfioctl.conf.d"], false))
            // Every entry of the drop-in directory counts: a ConfigMap volume swaps a `..data`
            // symlink rather than the `*.conf` names themselves.
            directories.append((root.path("/etc/vfioctl.conf.d"), nil, false))
        }
        directories.append((root.devVFIO, nil, true))
        directories.append((root.devVFIO + "/devices", nil, true))
        self.directories = directories
        addMissingWatches()
    }

    deinit { close(signals) }

    public func now() -> Duration { clock.now - started }

    /// (Re)adds the watches of directories that exist now: a drop-in directory or /dev/vfio
    /// created after the start, or recreated.
    private func addMissingWatches() {
        let configMask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB)
        let nodeMask = UInt32(IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_CREATE | IN_DELETE | IN_DELETE_SELF)
        for (index, directory) in directories.enumerated() where !watches.values.contains(index) {
            if let wd = inotify.add(directory.path, mask: directory.nodes ? nodeMask : configMask) { watches[wd] = index }
        }
    }

    public func wait(until deadline: Duration) -> [WatchEvent] {
        addMissingWatches()
        var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0), pollfd(fd: inotify.fd, events: Int16(POLLIN), revents: 0)]
        let remaining = deadline - now()
        let ms = remaining <= .zero ? 0 : LinuxWaitIO.milliseconds(remaining)
        let ready = fds.withUnsafeMutableBufferPointer { Glibc.poll($0.baseAddress, nfds_t($0.count), ms) }
        guard ready > 0 else { return [] }
        var events: [WatchEvent] = []
        if fds[0].revents != 0, vfioctl_read_stop_signal(signals) > 0 { events.append(.stop) }
        if fds[1].revents != 0 {
            for event in inotify.drain() {
                if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                    events += [.configChanged, .nodesChanged]
                    continue
                }
                guard let index = watches[event.watch] else { continue }
                if event.mask & UInt32(IN_IGNORED) != 0 {
                    watches[event.watch] = nil  // the directory went away; re-added when it is back
                    continue
                }
                let directory = directories[index]
                if directory.nodes {
                    if LinuxWaitIO.isRelevant(mask: event.mask, hasName: !event.name.isEmpty) { events.append(.nodesChanged) }
                } else if event.name.isEmpty || directory.names.map({ $0.contains(event.name) }) ?? true {
                    events.append(.configChanged)
                }
            }
        }
        return events
    }
}
