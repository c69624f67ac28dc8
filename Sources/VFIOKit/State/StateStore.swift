#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What vfioctl remembers about one device it moved.
public struct DeviceRecord: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable {
        /// Recorded before the first write of an operation; still there after a crash mid-way.
        case pending
        /// Moved and verified.
        case bound
        /// The operation failed and this device could not be returned; `currentDriver` says
        /// where it was left.
        case rollbackFailed = "rollback-failed"
    }

    public var address: PCIAddress
    public var group: Int?
    /// The driver it had before vfioctl first moved it (nil: none).
    public var originalDriver: String?
    /// Its `driver_override` before vfioctl first moved it (nil: unset).
    public var originalOverride: String?
    /// The driver vfioctl bound it to.
    public var boundDriver: String?
    public var status: Status
    /// Where it was left when a rollback failed; nil otherwise.
    public var currentDriver: String?
    /// When this record was last written, UTC, RFC 3339 (`2026-11-21T15:42:10Z`).
    public var time: String

    public init(
        address: PCIAddress, group: Int?, originalDriver: String?, originalOverride: String?, boundDriver: String?,
        status: Status, currentDriver: String? = nil, time: String = Timestamp.now()
    ) {
        self.address = address
        self.group = group
        self.originalDriver = originalDriver
        self.originalOverride = originalOverride
        self.boundDriver = boundDriver
        self.status = status
        self.currentDriver = currentDriver
        self.time = time
    }

    public var original: DriverState { DriverState(driver: originalDriver, override: originalOverride) }

    enum Keys: String, CodingKey {
        case address, group, originalDriver, originalOverride, boundDriver, status, currentDriver, time
    }

    // Absent values are written as null so the file always has the same keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(address, forKey: .address)
        try c.encode(group, forKey: .group)
        try c.encode(originalDriver, forKey: .originalDriver)
        try c.encode(originalOverride, forKey: .originalOverride)
        try c.encode(boundDriver, forKey: .boundDriver)
        try c.encode(status, forKey: .status)
        try c.encode(currentDriver, forKey: .currentDriver)
        try c.encode(time, forKey: .time)
    }
}

/// The whole state file.
public struct HostState: Sendable, Equatable, Codable {
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    /// Sorted by address.
    public var devices: [DeviceRecord]

    public init(devices: [DeviceRecord] = []) {
        self.schemaVersion = Self.currentSchemaVersion
        self.devices = devices.sorted { $0.address < $1.address }
    }

    public subscript(address: PCIAddress) -> DeviceRecord? {
        devices.first { $0.address == address }
    }

    /// Adds or replaces the record for its address.
    public mutating func upsert(_ record: DeviceRecord) {
        devices.removeAll { $0.address == record.address }
        devices.append(record)
        devices.sort { $0.address < $1.address }
    }

    public mutating func remove(_ address: PCIAddress) {
        devices.removeAll { $0.address == address }
    }
}

/// `/run/vfioctl/state.json` under the root prefix: the original driver and override of every
/// device vfioctl moved, so `unbind` and `restore` can give it back. `/run` is a tmpfs, so the
/// file lives exactly as long as the drivers it describes (a reboot resets both).
///
/// Every save is atomic and durable: a temporary file in the same directory, written, fsynced,
/// renamed over the old one, then the directory fsynced — so a crash leaves either the old or
/// the new file, never a torn one. Callers hold `HostLock` around load-modify-save.
public struct StateStore: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public var directory: String { root.run }
    public var path: String { root.run + "/state.json" }
    /// The path as the host sees it, for messages.
    public static let hostPath = "/run/vfioctl/state.json"

    /// The state; an empty one when the file does not exist.
    /// - Throws: `.failed` when the file exists but cannot be read or parsed (it is never
    ///   overwritten then: it may be the only record of where devices came from).
    public func load() throws(VFIOError) -> HostState {
        guard Sysfs.exists(path) else { return HostState() }
        guard let bytes = Sysfs.readBytes(path, limit: 16 << 20) else {
            throw .failed("cannot read \(Self.hostPath); nothing was changed")
        }
        do {
            let state = try JSONDecoder().decode(HostState.self, from: Data(bytes))
            guard state.schemaVersion <= HostState.currentSchemaVersion else {
                throw VFIOError.failed(
                    "\(Self.hostPath) has schemaVersion \(state.schemaVersion), newer than this vfioctl understands (\(HostState.currentSchemaVersion)); nothing was changed")
            }
            return state
        } catch let error as VFIOError {
            throw error
        } catch {
            throw .failed("\(Self.hostPath) is corrupt (\(error)); move it aside after checking it; nothing was changed")
        }
    }

    /// Replaces the file atomically.
    public func save(_ state: HostState) throws(VFIOError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw .failed("cannot encode the state file: \(error)") }
        try AtomicFile.write(Array(data) + [UInt8(ascii: "\n")], to: path, directory: directory, mode: 0o644)
    }

    /// Loads, lets `body` change the state, and saves it.
    @discardableResult
    public func update(_ body: (inout HostState) -> Void) throws(VFIOError) -> HostState {
        var state = try load()
        body(&state)
        try save(state)
        return state
    }

    /// Adds or replaces records.
    public func record(_ records: [DeviceRecord]) throws(VFIOError) {
        try update { state in
            for record in records { state.upsert(record) }
        }
    }

    /// Forgets devices.
    public func remove(_ addresses: [PCIAddress]) throws(VFIOError) {
        try update { state in
            for address in addresses { state.remove(address) }
        }
    }
}

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

/// UTC timestamps without Foundation's formatters.
public enum Timestamp {
    /// Now, as `2026-11-21T15:42:10Z`.
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return format(secondsSinceEpoch: Int64(ts.tv_sec))
    }

    public static func format(secondsSinceEpoch: Int64) -> String {
        var t = time_t(secondsSinceEpoch)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ w: Int) -> String { hexFreeDecimal(Int(v), width: w) }
        return pad(parts.tm_year + 1900, 4) + "-" + pad(parts.tm_mon + 1, 2) + "-" + pad(parts.tm_mday, 2) + "T" + pad(parts.tm_hour, 2) + ":"
            + pad(parts.tm_min, 2) + ":" + pad(parts.tm_sec, 2) + "Z"
    }

    static func hexFreeDecimal(_ value: Int, width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
