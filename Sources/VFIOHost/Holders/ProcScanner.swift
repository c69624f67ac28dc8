import CLinuxShim
import VFIOModel
import VFIOParallel

#if canImport(Glibc)
import Glibc
#endif

/// What a device number means to one scan.
enum NodeMatch: Sendable, Equatable {
    case group(Int)
    case cdev(PCIAddress)
    case container
    /// A host node (character or block) of this device.
    case host(PCIAddress)
}

/// The device numbers one scan looks for, built from sysfs before the scan.
struct ScanTable: Sendable {
    private(set) var numbers: [UInt64: NodeMatch] = [:]
    /// `vfioX` → device, to attribute a mapped cdev by name when `map_files` cannot be read.
    private(set) var cdevNames: [String: PCIAddress] = [:]
    /// Host nodes of the targets, character and block apart (their numbers are separate spaces).
    private(set) var hostChar: [UInt64: PCIAddress] = [:]
    private(set) var hostBlock: [UInt64: PCIAddress] = [:]
    /// Host node path → device, to attribute a mapping when `map_files` cannot be read.
    private(set) var hostPaths: [String: PCIAddress] = [:]
    /// Whether any target has host nodes: then maps are searched for `/dev/` mappings too.
    var hasHostNodes: Bool { !hostPaths.isEmpty }
    /// Whether anonymous `[vfio-device]` fds can matter: only while some target is open. A device
    /// fd exists only after the driver's open_device, which for vfio-pci enables the device
    /// (`enable` ≥ 1; checked on 6.1 and 6.12), so when every target reads 0 the `readlink` that
    /// anonymous fds (eventfds, epoll, timerfds…) would each cost is skipped. Unknown counts
    /// (an unreadable `enable`) keep them.
    let wantsAnonymousDevices: Bool

    init(targets: [HolderTarget], groups: [Int: VFIONode], containers: [DeviceNumber]) {
        for number in containers { numbers[number.packed] = .container }
        // Every group on the host, not only the targets': which other groups a process has open
        // tells whose its unattributed device fds probably are.
        for (id, node) in groups { numbers[node.number.packed] = .group(id) }
        for target in targets {
            if let node = target.deviceNode { numbers[node.number.packed] = .cdev(target.address) }
            if let name = target.vfioDeviceName { cdevNames[name] = target.address }
            for node in target.hostNodes {
                switch node.kind {
                case .char: hostChar[node.number.packed] = target.address
                case .block: hostBlock[node.number.packed] = target.address
                }
                hostPaths[node.path] = target.address
            }
        }
        wantsAnonymousDevices = targets.contains { $0.present && $0.reachableThroughVFIO && ($0.enableCount ?? 1) >= 1 }
    }

    func match(major: UInt32, minor: UInt32) -> NodeMatch? {
        let key = UInt64(major) << 32 | UInt64(minor)
        if let match = numbers.isEmpty ? nil : numbers[key] { return match }
        return hostChar.isEmpty ? nil : hostChar[key].map { .host($0) }
    }

    func matchBlock(major: UInt32, minor: UInt32) -> NodeMatch? {
        hostBlock.isEmpty ? nil : hostBlock[UInt64(major) << 32 | UInt64(minor)].map { .host($0) }
    }

    /// A stand-in's number does not say whether it stands for a character or a block node; a
    /// fixture keeps the two apart by their majors, so both are tried.
    func match(_ number: DeviceNumber) -> NodeMatch? {
        match(major: number.major, minor: number.minor) ?? matchBlock(major: number.major, minor: number.minor)
    }
}

/// The /proc scan: the only place that walks `/proc/PID/fd`, `fdinfo` and `maps`.
///
/// Cost model, because it runs over every process on the host: one `openat` + `getdents64` per
/// process, then one `statx` per fd. `statx` through the fd's magic link yields the `st_rdev` of
/// what it points at (a mknod'ed node anywhere in a container matches too), and
/// `AT_STATX_DONT_SYNC` keeps an fd on a hung NFS or FUSE mount from blocking the scan. Only fds
/// that are character devices are looked up, and only anonymous-inode fds are `readlink`ed (to
/// spot `anon_inode:[vfio-device]`). No allocation per fd: names come straight out of a reused
/// `getdents64` buffer. `DeviceNumbers` stand-ins (fixtures) are looked up only for regular
/// files, from the same `statx`; on a host there are none and the loop is as described.
final class ProcScanner {
    let procPath: String
    let table: ScanTable
    let deviceNumbers: DeviceNumbers
    /// The root prefix, stripped from link text so fixture paths read like host paths.
    private let displayPrefix: String
    private let direntSize = 32768
    private let dirents: UnsafeMutableRawPointer
    private let linkBuffer: UnsafeMutablePointer<CChar>
    private let linkSize = 4096
    private let pathBuffer: UnsafeMutablePointer<CChar>
    private let pathSize = 128
    /// The last file read: its bytes are `fileStorage[0..<fileLength]`. The storage only grows,
    /// so reading thousands of maps files costs no per-file allocation or zero-filling.
    private var fileStorage = [UInt8](repeating: 0, count: 16384)
    private var fileLength = 0
    /// The device number of the anonymous-inode filesystem, learned from an eventfd: kernels that
    /// give anon inodes a file type (instead of none) still share this `st_dev`.
    private let anonDevice: (UInt32, UInt32)?

    convenience init(root: HostRoot, table: ScanTable, deviceNumbers: DeviceNumbers = .real) {
        self.init(
            procPath: root.proc, table: table, deviceNumbers: deviceNumbers, displayPrefix: root.isHostRoot ? "" : root.prefix.string,
            anonDevice: Self.anonInodeDevice())
    }

    /// A scanner with the same table and its own buffers, for another thread.
    convenience init(sharing other: ProcScanner) {
        self.init(
            procPath: other.procPath, table: other.table, deviceNumbers: other.deviceNumbers, displayPrefix: other.displayPrefix,
            anonDevice: other.anonDevice)
    }

    private init(procPath: String, table: ScanTable, deviceNumbers: DeviceNumbers, displayPrefix: String, anonDevice: (UInt32, UInt32)?) {
        self.procPath = procPath
        self.table = table
        self.deviceNumbers = deviceNumbers
        self.displayPrefix = displayPrefix
        self.anonDevice = anonDevice
        dirents = UnsafeMutableRawPointer.allocate(byteCount: direntSize, alignment: 8)
        linkBuffer = .allocate(capacity: linkSize)
        pathBuffer = .allocate(capacity: pathSize)
    }

    deinit {
        dirents.deallocate()
        linkBuffer.deallocate()
        pathBuffer.deallocate()
    }

    static func anonInodeDevice() -> (UInt32, UInt32)? {
        let fd = vfioctl_eventfd()
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = statx()
        guard vfioctl_statx(fd, "", Int32(AT_EMPTY_PATH), UInt32(STATX_TYPE), &info) == 0 else { return nil }
        return (info.stx_dev_major, info.stx_dev_minor)
    }

    // MARK: - Walking /proc

    /// Opens `<root>/proc`; nil with errno set when it cannot be read.
    func openProc() -> Int32? {
        let fd = open(procPath, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        return fd >= 0 ? fd : nil
    }

    /// The numeric entries of `/proc`, in directory order. Fixture entries may be symlinks to a
    /// real `/proc/PID`, so the entry type is not checked.
    func pids(_ procFD: Int32) -> [Int32] {
        var pids: [Int32] = []
        pids.reserveCapacity(1024)
        lseek(procFD, 0, SEEK_SET)
        _ = forEachEntry(procFD) { name in
            if let pid = Self.parseNumber(name) { pids.append(pid) }
        }
        return pids
    }

    /// Processes per scanning thread, at the least: a process costs the kernel tens of
    /// microseconds (one lookup per fd), a thread about as much to start.
    static let processesPerThread = 32

    /// Scans every process's fds. Returns the processes with at least one VFIO handle, in
    /// `/proc` order.
    ///
    /// On a host with many processes the pids are split over a few threads, each with its own
    /// scanner (its own buffers): nearly all the time is the kernel's lookup of each fd under
    /// `/proc/PID/fd`, and lookups in different processes' directories do not contend.
    func scanAllFDs(_ procFD: Int32, threads: Int? = nil, stats: inout ScanStats) -> [ScannedProcess] {
        let pids = pids(procFD)
        let threads = max(1, min(threads ?? Parallel.threads(for: pids.count, minimumPerThread: Self.processesPerThread), pids.count))
        guard threads > 1 else { return scanFDs(procFD, pids: pids[...], stats: &stats) }
        var parts = Array(repeating: (found: [ScannedProcess](), stats: ScanStats()), count: threads)
        parts.withUnsafeMutableBufferPointer { parts in
            // Slice t touches only parts[t]; slice 0 runs on this thread, with this scanner.
            Parallel.forEachSlice(pids.count, threads: threads) { t, share in
                let scanner = t == 0 ? self : ProcScanner(sharing: self)
                parts[t].found = scanner.scanFDs(procFD, pids: pids[share], stats: &parts[t].stats)
            }
        }
        var found: [ScannedProcess] = []
        for part in parts {
            found += part.found
            stats.merge(part.stats)
        }
        return found
    }

    private func scanFDs(_ procFD: Int32, pids: ArraySlice<Int32>, stats: inout ScanStats) -> [ScannedProcess] {
        var found: [ScannedProcess] = []
        for pid in pids {
            if let handles = scanFDs(procFD, pid: pid, stats: &stats), !handles.isEmpty {
                found.append(ScannedProcess(pid: pid, handles: handles))
            }
        }
        return found
    }

    /// One process's VFIO fds; nil when it vanished or cannot be read (counted in `stats`).
    func scanFDs(_ procFD: Int32, pid: Int32, stats: inout ScanStats) -> [HeldHandle]? {
        formatPath(pid, "/fd")
        let dirFD = openat(procFD, pathBuffer, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dirFD >= 0 else {
            switch errno {
            case ENOENT, ESRCH: stats.vanished += 1
            case EACCES, EPERM: stats.noteUnreadable(pid)
            default: break
            }
            return nil
        }
        defer { close(dirFD) }
        stats.processes += 1
        var handles: [HeldHandle] = []
        var denied = false
        var info = statx()
        let mask = deviceNumbers.statxMask
        let standIns = deviceNumbers.standIn != nil
        let status = forEachEntry(dirFD) { name in
            guard !denied, name[0] != 0x2e else { return }  // "." and ".."
            if vfioctl_statx(dirFD, name, Int32(AT_STATX_DONT_SYNC), mask, &info) == 0 {
                let type = UInt32(info.stx_mode) & UInt32(S_IFMT)
                if type == UInt32(S_IFCHR) {
                    if let match = table.match(major: info.stx_rdev_major, minor: info.stx_rdev_minor) {
                        handles.append(handle(for: match, dirFD: dirFD, name: name))
                    }
                } else if type == UInt32(S_IFBLK) {
                    if let match = table.matchBlock(major: info.stx_rdev_major, minor: info.stx_rdev_minor) {
                        handles.append(handle(for: match, dirFD: dirFD, name: name))
                    }
                } else if standIns, type == UInt32(S_IFREG), let match = deviceNumbers.number(info).flatMap({ table.match($0) }) {
                    // A fixture's stand-in for a node. Other regular files go on: newer kernels give
                    // anonymous inodes S_IFREG.
                    handles.append(handle(for: match, dirFD: dirFD, name: name))
                } else if table.wantsAnonymousDevices
                    && (type == 0 || (anonDevice.map { $0.0 == info.stx_dev_major && $0.1 == info.stx_dev_minor } ?? false))
                {
                    // Anonymous inodes have no file type (or, on some kernels, the anon fs's st_dev).
                    if let anon = anonDeviceHandle(procFD, pid: pid, dirFD: dirFD, name: name) { handles.append(anon) }
                }
            } else {
                switch errno {
                case EACCES, EPERM:
                    denied = true
                case ENOENT where table.wantsAnonymousDevices:
                    // On a real /proc the fd was closed since getdents. A dangling link is also how a
                    // fixture /proc spells an anonymous fd, so look at the text.
                    if let anon = anonDeviceHandle(procFD, pid: pid, dirFD: dirFD, name: name) { handles.append(anon) }
                default:
                    break
                }
            }
        }
        if denied || status == EACCES || status == EPERM {
            stats.noteUnreadable(pid)
            return nil
        }
        // Directory order is the filesystem's; fd order reads better and is stable.
        if handles.count > 1 { handles.sort { ($0.fd ?? Int32.max) < ($1.fd ?? Int32.max) } }
        return handles
    }

    private func handle(for match: NodeMatch, dirFD: Int32, name: UnsafePointer<CChar>) -> HeldHandle {
        let fd = Self.parseNumber(name)
        let path = readLink(dirFD, name) ?? ""
        switch match {
        case .group(let id): return HeldHandle(kind: .group, fd: fd, path: path, group: id)
        case .cdev(let address): return HeldHandle(kind: .cdev, fd: fd, path: path, device: address)
        case .container: return HeldHandle(kind: .container, fd: fd, path: path)
        case .host(let address): return HeldHandle(kind: .hostNode, fd: fd, path: path, device: address)
        }
    }

    private static let anonVFIODevice = Array("anon_inode:[vfio-device]".utf8)

    /// An `anon_inode:[vfio-device]` fd, attributed through fdinfo `vfio-device-syspath:` (6.18+).
    private func anonDeviceHandle(_ procFD: Int32, pid: Int32, dirFD: Int32, name: UnsafePointer<CChar>) -> HeldHandle? {
        let n = readlinkat(dirFD, name, linkBuffer, linkSize - 1)
        guard n >= Self.anonVFIODevice.count else { return nil }
        let matches = linkBuffer.withMemoryRebound(to: UInt8.self, capacity: n) { text in
            Self.anonVFIODevice.indices.allSatisfy { text[$0] == Self.anonVFIODevice[$0] }
        }
        guard matches, let fd = Self.parseNumber(name) else { return nil }
        return HeldHandle(kind: .device, fd: fd, path: "anon_inode:[vfio-device]", device: fdinfoDevice(procFD, pid: pid, fd: fd))
    }

    private static let syspathKey = Array("vfio-device-syspath:".utf8)

    /// The device named by `/proc/PID/fdinfo/FD`, or nil before 6.18 (no such line).
    func fdinfoDevice(_ procFD: Int32, pid: Int32, fd: Int32) -> PCIAddress? {
        formatPath(pid, "/fdinfo/", fd)
        guard readFile(procFD, limit: 16384) else { return nil }
        return withFileBytes { text -> PCIAddress? in
            guard let start = Self.find(Self.syspathKey, in: text, from: 0) else { return nil }
            var end = start + Self.syspathKey.count
            while end < text.count, text[end] != 0x0a { end += 1 }
            // `/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0`: the last component is the device.
            var componentStart = end
            while componentStart > start, text[componentStart - 1] != 0x2f, text[componentStart - 1] != 0x20 { componentStart -= 1 }
            return PCIAddress(String(decoding: UnsafeBufferPointer(rebasing: text[componentStart..<end]), as: UTF8.self))
        }
    }

    // MARK: - Maps

    private static let vfioBytes = Array("vfio".utf8)
    private static let deletedSuffix = " (deleted)"

    /// Mappings of VFIO devices in one process: `anon_inode:[vfio-device]` (unattributed) and
    /// device cdevs (attributed through `map_files`, which gives the mapped file's `st_rdev`, or
    /// by the `vfioX` name when `map_files` is closed to this user).
    func scanMaps(_ procFD: Int32, pid: Int32, stats: inout ScanStats) -> [HeldHandle] {
        formatPath(pid, "/maps")
        guard readFile(procFD, limit: 1 << 26) else { return [] }
        stats.mapsRead += 1
        var lines: [(range: String, path: String)] = []
        var hostLines: [(range: String, path: String)] = []
        withFileBytes { text in
            Self.forEachLine(containing: Self.vfioBytes, in: text) { lines.append($0) }
            // Mappings of host nodes (a GPU's buffers through /dev/dri/card0) keep them open too.
            if table.hasHostNodes { Self.forEachLine(containing: Self.devBytes, in: text) { hostLines.append($0) } }
        }
        var handles: [HeldHandle] = []
        for line in hostLines {
            guard let address = mappedHostNode(procFD, pid: pid, range: line.range, path: line.path) else { continue }
            let handle = HeldHandle(kind: .hostNode, path: displayPath(line.path), device: address, range: line.range)
            if !handles.contains(where: { $0.path == handle.path && $0.device == handle.device }) { handles.append(handle) }
        }
        for line in lines {
            var handle: HeldHandle?
            if line.path.hasPrefix("anon_inode:[vfio-device]") {
                handle = HeldHandle(kind: .mapping, path: "anon_inode:[vfio-device]", range: line.range)
            } else if let address = mappedCdev(procFD, pid: pid, range: line.range, path: line.path) {
                handle = HeldHandle(kind: .mapping, path: displayPath(line.path), device: address, range: line.range)
            }
            // One entry per mapped object: QEMU maps each BAR in several pieces.
            if let handle, !handles.contains(where: { $0.path == handle.path && $0.device == handle.device }) {
                handles.append(handle)
            }
        }
        return handles
    }

    private static let devBytes = Array(" /dev/".utf8)

    /// Calls `body` with every parsed maps line that contains `needle`, each line once.
    static func forEachLine(containing needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, _ body: ((range: String, path: String)) -> Void) {
        var from = 0
        while let hit = find(needle, in: text, from: from) {
            var start = hit
            while start > 0, text[start - 1] != 0x0a { start -= 1 }
            var end = hit
            while end < text.count, text[end] != 0x0a { end += 1 }
            if let parsed = parseMapsLine(UnsafeBufferPointer(rebasing: text[start..<end])) { body(parsed) }
            from = end
        }
    }

    /// The `map_files` entry of a mapping: `START-END` without the zero padding maps prints.
    private static func mapFilesEntry(pid: Int32, range: String) -> String? {
        let parts = range.split(separator: "-")
        guard parts.count == 2 else { return nil }
        func trim(_ s: Substring) -> Substring {
            let t = s.drop { $0 == "0" }
            return t.isEmpty ? "0" : t
        }
        return String(pid) + "/map_files/" + trim(parts[0]) + "-" + trim(parts[1])
    }

    /// The device whose host node a mapping is of: by the mapped file's number through
    /// `map_files`, or by its path when `map_files` is closed to this user.
    private func mappedHostNode(_ procFD: Int32, pid: Int32, range: String, path: String) -> PCIAddress? {
        var info = statx()
        if let entry = Self.mapFilesEntry(pid: pid, range: range),
            vfioctl_statx(procFD, entry, Int32(AT_STATX_DONT_SYNC), deviceNumbers.statxMask, &info) == 0
        {
            let type = UInt32(info.stx_mode) & UInt32(S_IFMT)
            let match =
                type == UInt32(S_IFBLK)
                ? table.matchBlock(major: info.stx_rdev_major, minor: info.stx_rdev_minor) : deviceNumbers.number(info).flatMap { table.match($0) }
            guard case .host(let address) = match else { return nil }
            return address
        }
        var name = Substring(path)
        if name.hasSuffix(Self.deletedSuffix) { name = name.dropLast(Self.deletedSuffix.count) }
        return table.hostPaths[String(name)]
    }

    private func mappedCdev(_ procFD: Int32, pid: Int32, range: String, path: String) -> PCIAddress? {
        guard let entry = Self.mapFilesEntry(pid: pid, range: range) else { return nil }
        var info = statx()
        if vfioctl_statx(procFD, entry, Int32(AT_STATX_DONT_SYNC), deviceNumbers.statxMask, &info) == 0 {
            guard let number = deviceNumbers.number(info), case .cdev(let address) = table.match(number) else { return nil }
            return address
        }
        // map_files needs CAP_SYS_ADMIN; fall back to the node's name.
        var name = Substring(path)
        if name.hasSuffix(Self.deletedSuffix) { name = name.dropLast(Self.deletedSuffix.count) }
        guard let last = name.split(separator: "/").last else { return nil }
        return table.cdevNames[String(last)]
    }

    /// `start-end perms offset dev inode   path` → (range, path); nil without a path.
    static func parseMapsLine(_ line: UnsafeBufferPointer<UInt8>) -> (range: String, path: String)? {
        var i = 0
        var fieldStarts: [Int] = []
        var fieldEnds: [Int] = []
        while fieldStarts.count < 5 {
            while i < line.count, line[i] == 0x20 { i += 1 }
            guard i < line.count else { return nil }
            fieldStarts.append(i)
            while i < line.count, line[i] != 0x20 { i += 1 }
            fieldEnds.append(i)
        }
        while i < line.count, line[i] == 0x20 || line[i] == 0x09 { i += 1 }
        guard i < line.count else { return nil }
        let range = String(decoding: UnsafeBufferPointer(rebasing: line[fieldStarts[0]..<fieldEnds[0]]), as: UTF8.self)
        let path = String(decoding: UnsafeBufferPointer(rebasing: line[i...]), as: UTF8.self)
        return (range, path)
    }

    // MARK: - Small helpers

    /// Calls `body` with each entry name (NUL-terminated, valid only during the call). Returns 0,
    /// or the errno that stopped the listing.
    @discardableResult
    private func forEachEntry(_ dirFD: Int32, _ body: (UnsafePointer<CChar>) -> Void) -> Int32 {
        while true {
            let n = vfioctl_getdents64(dirFD, dirents, UInt(direntSize))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            if n == 0 { return 0 }
            var offset = 0
            while offset < n {
                // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
                let record = dirents + offset
                let length = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                guard length > 0 else { return EIO }
                body((record + 19).assumingMemoryBound(to: CChar.self))
                offset += length
            }
        }
    }

    private func readLink(_ dirFD: Int32, _ name: UnsafePointer<CChar>) -> String? {
        let n = readlinkat(dirFD, name, linkBuffer, linkSize - 1)
        guard n > 0 else { return nil }
        let text = linkBuffer.withMemoryRebound(to: UInt8.self, capacity: n) {
            String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
        }
        return displayPath(text)
    }

    private func displayPath(_ text: String) -> String {
        guard !displayPrefix.isEmpty, text.hasPrefix(displayPrefix + "/") else { return text }
        return String(text.dropFirst(displayPrefix.count))
    }

    /// Reads the file named by `pathBuffer` (relative to /proc) into `fileStorage`, up to `limit`
    /// bytes (more when the storage has grown past it for an earlier file).
    private func readFile(_ procFD: Int32, limit: Int) -> Bool {
        let fd = openat(procFD, pathBuffer, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        fileLength = 0
        while fileLength < limit {
            if fileLength == fileStorage.count {
                fileStorage.append(contentsOf: [UInt8](repeating: 0, count: min(fileStorage.count, 1 << 20)))
            }
            let offset = fileLength
            let n = fileStorage.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            fileLength += n
        }
        return true
    }

    /// The bytes of the last file read.
    private func withFileBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        fileStorage.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[0..<fileLength])) }
    }

    /// Writes `PID<suffix>[number]` into `pathBuffer`, NUL-terminated.
    private func formatPath(_ pid: Int32, _ suffix: StaticString, _ number: Int32? = nil) {
        var i = 0
        func put(_ byte: UInt8) {
            if i < pathSize - 1 {
                pathBuffer[i] = CChar(bitPattern: byte)
                i += 1
            }
        }
        func putNumber(_ value: Int32) {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var count = 0
            var v = UInt32(max(value, 0))
            withUnsafeMutableBytes(of: &digits) { d in
                repeat {
                    d[count] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                    count += 1
                } while v > 0
                for k in stride(from: count - 1, through: 0, by: -1) { put(d[k]) }
            }
        }
        putNumber(pid)
        suffix.withUTF8Buffer { for byte in $0 { put(byte) } }
        if let number { putNumber(number) }
        pathBuffer[i] = 0
    }

    /// A non-negative decimal name (`1234`) → its value; nil for anything else.
    static func parseNumber(_ name: UnsafePointer<CChar>) -> Int32? {
        var value: Int64 = 0
        var i = 0
        while name[i] != 0 {
            let c = UInt8(bitPattern: name[i])
            guard c >= 0x30, c <= 0x39, i < 10 else { return nil }
            value = value * 10 + Int64(c - 0x30)
            i += 1
        }
        guard i > 0, value <= Int64(Int32.max) else { return nil }
        return Int32(value)
    }

    /// The first index of `needle` in `text` at or after `from`.
    static func find(_ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        guard let first = needle.first, text.count >= needle.count, let base = text.baseAddress else { return nil }
        var i = from
        let last = text.count - needle.count
        while i <= last {
            guard let hit = memchr(base + i, Int32(first), last - i + 1) else { return nil }
            let index = UnsafeRawPointer(hit) - UnsafeRawPointer(base)
            var k = 1
            while k < needle.count, text[index + k] == needle[k] { k += 1 }
            if k == needle.count { return index }
            i = index + 1
        }
        return nil
    }
}
