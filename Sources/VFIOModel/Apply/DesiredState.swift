/// The desired-state file (`/etc/vfioctl.conf` and `/etc/vfioctl.conf.d/*.conf`): which devices
/// go to which driver. An INI-like format a person can write and a template can produce:
///
///     [defaults]
///     timeout = 30s
///     cdi = /etc/cdi/vfioctl.json
///
///     [device 0000:01:00.0]
///     driver = vfio-pci
///     group = whole
///
///     [ids 10de:2204]
///     driver = vfio-pci
///     count = 1
///     numa = 0
///
///     [group 12]
///     driver = vfio-pci
///
///     [device 0000:04:00.0]
///     vfs = 2
///     vf-driver = vfio-pci
/// `[hooks]` (see `HookSettings`) is read by `vfioctl hook`, not by `apply`.
public struct DesiredState: Sendable, Equatable {
    public var timeout: Duration?
    /// `[hooks]`, when a file has one (a later file's keys win).
    public var hooks: HookSettings?
    /// `[defaults] cdi = /etc/cdi/vfioctl.json`: a CDI spec file that `apply` (and the watcher)
    /// rewrites after each run to list the VFIO-bound groups (host-absolute, under the root prefix).
    public var cdi: String?
    public var entries: [Entry]
    /// `vfs =` on a `[device PF]` section: the PF's VF count and what its VFs are bound to.
    public var sriov: [SRIOVEntry] = []

    public struct SRIOVEntry: Sendable, Equatable {
        public var pf: PCIAddress
        public var numVFs: Int
        /// `vf-driver =`: a VFIO driver or `auto`; nil (`none`) leaves the VFs unbound.
        public var vfDriver: String?
        public var timeout: Duration?
        public var source: String
    }

    public init(timeout: Duration? = nil, cdi: String? = nil, entries: [Entry] = []) {
        self.timeout = timeout
        self.cdi = cdi
        self.entries = entries
    }

    public enum Driver: Sendable, Equatable, CustomStringConvertible {
        /// A named driver (`vfio-pci`, a vfio variant, or a host driver).
        case named(String)
        /// Back to the driver the device had before vfioctl moved it (or the kernel's choice).
        case host
        /// Unbound.
        case none

        public var description: String {
            switch self {
            case .named(let name): name
            case .host: "host"
            case .none: "none"
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var selector: Target
        public var driver: Driver
        public var wholeGroup = false
        public var force = false
        public var count: Int?
        public var numaNode: Int?
        public var timeout: Duration?
        /// `owner = USER[:GROUP]`: who gets the VFIO nodes (and a persistent udev rule).
        public var owner: OwnerSpec?
        /// `file:line` of the section header, for messages.
        public var source: String

        public init(selector: Target, driver: Driver, source: String) {
            self.selector = selector
            self.driver = driver
            self.source = source
        }
    }

    // MARK: - Parsing

    /// Parses one file's text. Every error names the file and line.
    public static func parse(_ text: String, file: String) throws(VFIOError) -> DesiredState {
        var parser = DesiredStateParser()
        var number = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            try parser.take(rawLine, at: file + ":" + String(number))
        }
        try parser.finishSection()
        return parser.state
    }

    /// Runs `body`, prefixing the location to a usage error it throws.
    static func located<T>(_ here: String, _ body: () throws(VFIOError) -> T) throws(VFIOError) -> T {
        do throws(VFIOError) {
            return try body()
        } catch {
            throw .usage("\(here): \(error.message)")
        }
    }

    static func parseBool(_ text: String) -> Bool? {
        switch text.lowercased() {
        case "yes", "true", "on", "1": true
        case "no", "false", "off", "0": false
        default: nil
        }
    }

    /// Appends another file's entries (drop-ins come after the main file; a later entry for the
    /// same device wins, see `resolve`).
    public mutating func merge(_ other: DesiredState) {
        if let timeout = other.timeout { self.timeout = timeout }
        if let hooks = other.hooks { self.hooks = hooks }
        if let cdi = other.cdi { self.cdi = cdi }
        entries += other.entries
        // A later file's count for the same PF replaces an earlier one.
        for entry in other.sriov {
            sriov.removeAll { $0.pf == entry.pf }
            sriov.append(entry)
        }
    }

    // MARK: - Resolving against a host

    public struct Assignment: Sendable, Equatable {
        public var address: PCIAddress
        public var driver: Driver
        public var wholeGroup: Bool
        public var force: Bool
        public var timeout: Duration?
        public var source: String
        public var owner: OwnerSpec? = nil
    }

    public struct Resolution: Sendable, Equatable {
        public var assignments: [Assignment]
        /// Entries that matched nothing on this host, with why.
        public var unmatched: [(source: String, reason: String)]
        public static func == (a: Resolution, b: Resolution) -> Bool {
            a.assignments == b.assignments && a.unmatched.map(\.source) == b.unmatched.map(\.source)
        }
    }

    /// Which device gets which driver. Entries are applied in order, so a later entry for a
    /// device (e.g. from a drop-in) replaces an earlier one.
    public func resolve(against inventory: HostInventory) -> Resolution {
        var byAddress: [PCIAddress: Assignment] = [:]
        var order: [PCIAddress] = []
        var unmatched: [(String, String)] = []
        for entry in entries {
            var devices: [PCIDevice]
            do {
                devices = try inventory.resolve(entry.selector)
            } catch {
                unmatched.append((entry.source, error.message))
                continue
            }
            if case .group = entry.selector { devices = devices.filter { !$0.isBridge } }
            if let node = entry.numaNode { devices = devices.filter { $0.numaNode == node } }
            if let count = entry.count { devices = Array(devices.prefix(count)) }
            if devices.isEmpty {
                unmatched.append((entry.source, "no function of \(entry.selector) matches" + (entry.numaNode.map { " on NUMA node \($0)" } ?? "")))
                continue
            }
            for device in devices {
                if byAddress[device.address] == nil { order.append(device.address) }
                byAddress[device.address] = Assignment(
                    address: device.address, driver: entry.driver, wholeGroup: entry.wholeGroup, force: entry.force,
                    timeout: entry.timeout ?? timeout, source: entry.source, owner: entry.owner)
            }
        }
        return Resolution(assignments: order.sorted().compactMap { byAddress[$0] }, unmatched: unmatched)
    }
}
