import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Reads what is cheap to know about a reported process: `comm`, `cmdline`, `cgroup` and the
/// start time. Only reported processes are read, so this is off the scan's hot path. A process
/// that exits in between keeps its handles and loses its details.
struct ProcessDetailsReader {
    let root: HostRoot
    /// `btime` from `/proc/stat`, seconds since the epoch.
    private let bootTime: Int64?
    private let ticksPerSecond: Int64

    init(root: HostRoot) {
        self.root = root
        bootTime = Sysfs.read(root.proc + "/stat").flatMap(Self.parseBootTime)
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        ticksPerSecond = ticks > 0 ? Int64(ticks) : 100
    }

    func fill(_ process: ScannedProcess) -> HolderProcess {
        let dir = root.proc + "/" + String(process.pid)
        var holder = HolderProcess(pid: process.pid, handles: process.handles)
        holder.command = Sysfs.read(dir + "/comm")
        if let raw = Sysfs.readBytes(dir + "/cmdline", limit: 65536), !raw.isEmpty {
            holder.commandLine = Self.parseCommandLine(raw)
            holder.vmName = holder.commandLine.flatMap(Self.vmName)
        }
        if let text = Sysfs.read(dir + "/cgroup") {
            holder.cgroup = Self.parseCgroup(text)
            holder.unit = holder.cgroup.flatMap(Self.unit)
        }
        if let bootTime, let stat = Sysfs.read(dir + "/stat"), let ticks = Self.parseStartTicks(stat) {
            holder.startedAt = bootTime + ticks / ticksPerSecond
        }
        return holder
    }

    // MARK: - Parsers (pure)

    /// `btime 1732200000` in /proc/stat.
    static func parseBootTime(_ text: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int64(line.dropFirst(6).trimmingSpaces)
        }
        return nil
    }

    /// Field 22 (`starttime`, clock ticks after boot) of `/proc/PID/stat`. `comm` (field 2) is in
    /// parentheses and may itself contain spaces and parentheses, so fields are counted from
    /// the last `)`.
    static func parseStartTicks(_ stat: String) -> Int64? {
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // fields[0] is field 3 (state), so field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return Int64(fields[19])
    }

    /// NUL-separated arguments; a trailing NUL does not make an empty argument.
    static func parseCommandLine(_ raw: [UInt8]) -> [String] {
        var bytes = raw[...]
        if bytes.last == 0 { bytes = bytes.dropLast() }
        return bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The unified (v2) path `0::/…`; on a v1-only host, the `name=systemd` one.
    static func parseCgroup(_ text: String) -> String? {
        var systemd: String?
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[0] == "0" && parts[1].isEmpty { return String(parts[2]) }
            if parts[1] == "name=systemd" { systemd = String(parts[2]) }
        }
        return systemd
    }

    /// The innermost systemd unit in a cgroup path: libvirt's QEMU runs in
    /// `/machine.slice/machine-qemu\x2d1\x2dwin10.scope/libvirt/emulator`.
    static func unit(_ cgroup: String) -> String? {
        for component in cgroup.split(separator: "/").reversed() where component.hasSuffix(".service") || component.hasSuffix(".scope") {
            return String(component)
        }
        return nil
    }

    /// QEMU's `-name guest=NAME,…` or `-name NAME`.
    static func vmName(_ arguments: [String]) -> String? {
        guard let program = arguments.first?.split(separator: "/").last, program.hasPrefix("qemu") else { return nil }
        guard let index = arguments.firstIndex(where: { $0 == "-name" || $0 == "--name" }), index + 1 < arguments.count else { return nil }
        let value = arguments[index + 1]
        for option in value.split(separator: ",") {
            if option.hasPrefix("guest=") { return String(option.dropFirst(6)) }
        }
        let first = value.split(separator: ",").first.map(String.init)
        return first.flatMap { $0.contains("=") ? nil : $0 }
    }
}
