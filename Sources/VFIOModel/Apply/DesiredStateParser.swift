/// Reads a desired-state file one line at a time: the section it is in and the entry being
/// built. Every error names the file and line.
struct DesiredStateParser {
    private(set) var state = DesiredState()
    private var current: DesiredState.Entry?
    private var inDefaults = false
    private var inHooks = false
    private var sawDriver = false
    /// `vfs =` and `vf-driver =` of the section being read.
    private var vfs: Int?
    private var vfDriver: String?? = nil

    /// One line; `here` is its `file:line`.
    mutating func take(_ rawLine: Substring, at here: String) throws(VFIOError) {
        var line = rawLine
        if let hash = line.firstIndex(where: { $0 == "#" || $0 == ";" }) { line = line[..<hash] }
        let trimmed = line.trimmingSpaces
        if trimmed.isEmpty { return }
        if trimmed.hasPrefix("[") { return try startSection(trimmed, at: here) }
        guard let eq = trimmed.firstIndex(of: "=") else { throw .usage("\(here): expected 'key = value'") }
        let key = trimmed[..<eq].trimmingSpaces.lowercased()
        let value = String(trimmed[trimmed.index(after: eq)...].trimmingSpaces)
        if inDefaults { return try setDefault(key, value, at: here) }
        if inHooks { return try setHook(key, value, at: here) }
        guard var entry = current else { throw .usage("\(here): '\(UntrustedText.printable(key))' outside a section") }
        try set(key, value, on: &entry, at: here)
        current = entry
    }

    /// Ends the section being read (at a new header and at the end of the file).
    /// - Throws: `.usage` for a device section without `driver =`.
    mutating func finishSection() throws(VFIOError) {
        if let entry = current {
            if vfDriver != nil && vfs == nil { throw .usage("\(entry.source): 'vf-driver =' needs 'vfs ='") }
            if let vfs, case .address(let pf) = entry.selector {
                state.sriov.append(
                    DesiredState.SRIOVEntry(pf: pf, numVFs: vfs, vfDriver: vfDriver ?? nil, timeout: entry.timeout, source: entry.source))
            }
            guard sawDriver || vfs != nil else { throw .usage("\(entry.source): [\(entry.selector)] has no 'driver =' (or 'vfs =')") }
            if sawDriver { state.entries.append(entry) }
        }
        current = nil
        sawDriver = false
        vfs = nil
        vfDriver = nil
    }

    /// `[defaults]`, `[device ADDRESS]`, `[ids VENDOR:DEVICE]` or `[group N]`.
    private mutating func startSection(_ trimmed: Substring, at here: String) throws(VFIOError) {
        guard trimmed.hasSuffix("]") else { throw .usage("\(here): unterminated section header") }
        try finishSection()
        let header = trimmed.dropFirst().dropLast().trimmingSpaces
        let words = header.split(separator: " ", omittingEmptySubsequences: true)
        inDefaults = words == ["defaults"]
        inHooks = words == ["hooks"]
        if inDefaults || inHooks { return }
        guard words.count == 2 else {
            throw .usage("\(here): expected [device ADDRESS], [ids VENDOR:DEVICE], [group N], [defaults] or [hooks]")
        }
        current = DesiredState.Entry(selector: try Self.selector(words[0], words[1], at: here), driver: .host, source: here)
    }

    static func selector(_ kind: Substring, _ value: Substring, at here: String) throws(VFIOError) -> Target {
        do throws(VFIOError) {
            switch kind {
            case "device":
                guard let address = PCIAddress(value) else { throw .usage("invalid address '\(UntrustedText.printable(String(value)))'") }
                return .address(address)
            case "ids":
                let parsed = try Target(parsing: String(value))
                guard case .ids = parsed else { throw .usage("invalid ids '\(UntrustedText.printable(String(value)))'") }
                return parsed
            case "group":
                return try Target(parsing: "group:" + value)
            default:
                throw .usage("unknown section '\(UntrustedText.printable(String(kind)))'")
            }
        } catch {
            throw .usage("\(here): \(error.message)")
        }
    }

    /// A key of `[defaults]`.
    private mutating func setDefault(_ key: String, _ value: String, at here: String) throws(VFIOError) {
        switch key {
        case "timeout":
            let duration = try DesiredState.located(here) { () throws(VFIOError) in try DurationText.parse(value, name: "timeout") }
            state.timeout = duration
        case "cdi":
            // A path under the root prefix, like the desired-state files themselves.
            guard value.hasPrefix("/"), !value.contains("\0"), !value.split(separator: "/").contains("..") else {
                throw .usage("\(here): cdi must be an absolute file path such as \(CDISpec.defaultPath)")
            }
            state.cdi = value
        default:
            throw .usage("\(here): unknown key '\(UntrustedText.printable(key))' in [defaults]")
        }
    }

    /// A key of `[hooks]` (`vfioctl hook`).
    private mutating func setHook(_ key: String, _ value: String, at here: String) throws(VFIOError) {
        var hooks = state.hooks ?? HookSettings()
        switch key {
        case "devices":
            guard let scope = HookSettings.Scope(rawValue: value) else { throw .usage("\(here): devices must be 'unmanaged' or 'all'") }
            hooks.scope = scope
        case "timeout":
            hooks.timeout = try DesiredState.located(here) { () throws(VFIOError) in try DurationText.parse(value, name: "timeout") }
        default:
            throw .usage("\(here): unknown key '\(UntrustedText.printable(key))' in [hooks]")
        }
        state.hooks = hooks
    }

    /// A key of a device section.
    private mutating func set(_ key: String, _ value: String, on entry: inout DesiredState.Entry, at here: String) throws(VFIOError) {
        switch key {
        case "driver":
            switch value {
            case "host": entry.driver = .host
            case "none": entry.driver = .none
            default:
                try DesiredState.located(here) { () throws(VFIOError) in try DriverName.validate(value) }
                entry.driver = .named(value)
            }
            sawDriver = true
        case "group":
            switch value {
            case "whole": entry.wholeGroup = true
            case "device", "single": entry.wholeGroup = false
            default: throw .usage("\(here): group must be 'whole' or 'device'")
            }
        case "force":
            guard let flag = DesiredState.parseBool(value) else { throw .usage("\(here): force must be yes or no") }
            entry.force = flag
        case "count":
            guard let n = Int(value), n > 0 else { throw .usage("\(here): count must be a positive number") }
            guard case .ids = entry.selector else { throw .usage("\(here): count applies to [ids …] sections only") }
            entry.count = n
        case "numa":
            guard let n = Int(value), n >= 0 else { throw .usage("\(here): numa must be a node number") }
            guard case .ids = entry.selector else { throw .usage("\(here): numa applies to [ids …] sections only") }
            entry.numaNode = n
        case "timeout":
            let duration = try DesiredState.located(here) { () throws(VFIOError) in try DurationText.parse(value, name: "timeout") }
            entry.timeout = duration
        case "vfs":
            guard case .address = entry.selector else { throw .usage("\(here): vfs applies to [device PF] sections only") }
            guard let n = Int(value), n >= 0 else { throw .usage("\(here): vfs must be a number of VFs (0 or more)") }
            vfs = n
        case "vf-driver":
            if value == "none" {
                vfDriver = .some(nil)
            } else {
                if value != DriverName.auto {
                    try DesiredState.located(here) { () throws(VFIOError) in try BindPlanner.validate(driver: value) }
                }
                vfDriver = .some(value)
            }
        case "owner":
            let owner = try DesiredState.located(here) { () throws(VFIOError) in try OwnerSpec.parse(value) }
            entry.owner = owner
        default:
            throw .usage("\(here): unknown key '\(UntrustedText.printable(key))'")
        }
    }
}
