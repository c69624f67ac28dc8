/// What makes the kernel give a configured device to its VFIO driver as the device is added —
/// at boot, on hotplug, when a PF makes VFs again — so that its host driver never probes it
/// (and never takes the console, or the NIC, first). Built from the desired-state file alone,
/// as plain text; `ClaimFileStore` writes it.
///
/// Why these pieces (docs/kernel-notes.md, "Claiming a device at add"):
/// - The kernel tries the drivers it has as soon as a device is added, before udev sees the
///   event. A host driver that is a module is not loaded yet at boot: udev loads it from the
///   device's modalias in `80-drivers.rules`. A rule that runs before that writes
///   `driver_override`, and from then on only the named driver can bind the device.
/// - Setting the override binds nothing by itself, so the rule also loads the VFIO driver
///   (its registration probes every unbound device whose override names it) and, for when it is
///   loaded already, writes the address to `drivers_probe`.
/// - A host driver loaded from the initramfs comes up before the root file system's rules; a
///   `softdep` loads the VFIO driver first and the initramfs-tools hook copies the rule and the
///   modprobe file into the initramfs (`update-initramfs -u` makes it).
/// - A host driver built into the kernel binds at device add, before any rule: nothing here can
///   stop it; `apply` still moves the device afterwards, and `doctor` says so.
public struct ClaimFiles: Sendable, Equatable {
    public struct Claim: Sendable, Equatable {
        public enum Match: Sendable, Equatable {
            case address(PCIAddress)
            /// Every function with these ids, present now or hotplugged later.
            case ids(vendor: UInt16, device: UInt16)
        }

        public var match: Match
        /// The VFIO driver (`vfio-pci` or a variant).
        public var driver: String
        /// `file:line` of the entry, written into the rule as a comment.
        public var source: String

        public init(match: Match, driver: String, source: String) {
            self.match = match
            self.driver = driver
            self.source = source
        }
    }

    public var claims: [Claim]
    /// Modules of the host drivers the claimed devices had or have, for `softdep … pre:`.
    public var hostModules: [String]
    /// Whether the root has initramfs-tools (`/etc/initramfs-tools`): then the hook is written.
    public var initramfsTools: Bool

    public static let rulePath = "/etc/udev/rules.d/69-vfioctl-claim.rules"
    public static let modprobePath = "/etc/modprobe.d/vfioctl.conf"
    public static let initramfsHookPath = "/etc/initramfs-tools/hooks/vfioctl"
    /// Every path this type ever writes, for removal.
    public static let allPaths = [rulePath, modprobePath, initramfsHookPath]

    public struct File: Sendable, Equatable {
        public var path: String
        public var text: String
        public var mode: UInt32
    }

    public init(claims: [Claim], hostModules: [String], initramfsTools: Bool) {
        self.claims = claims
        self.hostModules = Array(Set(hostModules)).sorted()
        self.initramfsTools = initramfsTools
    }

    /// The claims of a desired state: every entry whose driver is a VFIO driver, by address,
    /// or for `[ids]` without `count`/`numa` by ids (so a card hotplugged later is claimed
    /// too); `[group N]` entries and counted ids by the addresses they resolve to now (group
    /// numbers and counts say nothing about a device not yet there); `group = whole` claims the
    /// group's other endpoints as well. `vfs =` entries with a
    /// VFIO `vf-driver` claim the VFs the PF has now (a PF puts its VFs at the same addresses
    /// every time it makes that many). A later entry for the same match wins.
    public static func claims(_ desired: DesiredState, inventory: HostInventory) -> [Claim] {
        var claims: [Claim] = []
        func add(_ claim: Claim) {
            claims.removeAll { $0.match == claim.match }
            claims.append(claim)
        }
        let resolved = desired.resolve(against: inventory).assignments
        for entry in desired.entries {
            guard case .named(let driver) = entry.driver, DriverName.isVFIO(driver) else {
                // An entry that gives a device back removes its claim.
                for address in resolved.filter({ $0.source == entry.source }).map(\.address) {
                    claims.removeAll { $0.match == .address(address) }
                }
                if case .address(let address) = entry.selector { claims.removeAll { $0.match == .address(address) } }
                continue
            }
            switch entry.selector {
            case .address(let address):
                add(Claim(match: .address(address), driver: driver, source: entry.source))
                // `group = whole` moves the group's endpoints with it; at add they are claimed with it.
                let group = inventory.device(address)?.iommuGroup
                if entry.wholeGroup, let group {
                    for member in inventory.devices where member.iommuGroup == group && member.address != address && !member.isBridge {
                        add(Claim(match: .address(member.address), driver: driver, source: entry.source))
                    }
                }
            case .ids(let vendor, let device) where entry.count == nil && entry.numaNode == nil:
                add(Claim(match: .ids(vendor: vendor, device: device), driver: driver, source: entry.source))
            default:
                for assignment in resolved where assignment.source == entry.source {
                    add(Claim(match: .address(assignment.address), driver: driver, source: entry.source))
                }
            }
        }
        for entry in desired.sriov {
            guard let driver = entry.vfDriver, DriverName.isVFIO(driver) else { continue }
            let vfs = inventory.devices.first { $0.address == entry.pf }?.sriov?.virtualFunctions ?? []
            for vf in vfs.sorted().prefix(entry.numVFs) {
                add(Claim(match: .address(vf), driver: driver, source: entry.source))
            }
        }
        return claims
    }

    /// The files, in the order they are written; none when nothing is claimed (then every one
    /// of `allPaths` is removed).
    public var files: [File] {
        guard !claims.isEmpty else { return [] }
        var files = [File(path: Self.rulePath, text: ruleText, mode: 0o644), File(path: Self.modprobePath, text: modprobeText, mode: 0o644)]
        if initramfsTools { files.append(File(path: Self.initramfsHookPath, text: hookText, mode: 0o755)) }
        return files
    }

    /// The VFIO drivers the claims name, sorted.
    public var vfioDrivers: [String] { Array(Set(claims.map(\.driver))).sorted() }

    static let header = "# Written by vfioctl apply from /etc/vfioctl.conf (and .d/); rewritten at every apply, removed with the last VFIO entry.\n"

    public var ruleText: String {
        var out = Self.header
        out += "# At device add, before 80-drivers.rules loads the host driver's module, only the named VFIO driver may bind the device;\n"
        out += "# loading that driver, or drivers_probe when it is loaded already, binds it.\n"
        for claim in claims {
            let match: String
            switch claim.match {
            case .address(let address):
                match = "KERNEL==\"\(address)\""
            case .ids(let vendor, let device):
                match = "ATTR{vendor}==\"0x\(hexString(UInt32(vendor), width: 4))\", ATTR{device}==\"0x\(hexString(UInt32(device), width: 4))\""
            }
            out += "# \(claim.source)\n"
            out += "ACTION==\"add\", SUBSYSTEM==\"pci\", \(match), ATTR{driver_override}=\"\(claim.driver)\", "
            out += "RUN{builtin}+=\"kmod load \(claim.driver)\", RUN+=\"/bin/sh -c 'echo $kernel > /sys/bus/pci/drivers_probe'\"\n"
        }
        return out
    }

    /// `softdep HOST pre: VFIO…` for each host module, and `options vfio-pci ids=` for the
    /// `[ids]` claims on vfio-pci (vfio-pci then claims them itself, wherever it loads).
    public var modprobeText: String {
        var out = Self.header
        out += "# The VFIO drivers load before the host drivers of the devices they claim (also in the initramfs).\n"
        let pre = vfioDrivers.joined(separator: " ")
        for module in hostModules { out += "softdep \(module) pre: \(pre)\n" }
        let ids = claims.compactMap { claim -> String? in
            guard claim.driver == DriverName.vfioPCI, case .ids(let vendor, let device) = claim.match else { return nil }
            return hexString(UInt32(vendor), width: 4) + ":" + hexString(UInt32(device), width: 4)
        }
        if !ids.isEmpty { out += "options vfio-pci ids=\(ids.joined(separator: ","))\n" }
        return out
    }

    /// An initramfs-tools hook: the VFIO modules, the claim rule and the modprobe file go into
    /// the initramfs, so a host driver loaded from there meets the rule too.
    public var hookText: String {
        """
        #!/bin/sh
        \(Self.header.dropLast())
        # Puts vfioctl's claim rule, its modprobe file and the VFIO modules into the initramfs; run update-initramfs -u after a change.
        PREREQ="udev"
        prereqs() { echo "$PREREQ"; }
        case "$1" in prereqs) prereqs; exit 0 ;; esac
        . /usr/share/initramfs-tools/hook-functions
        \(vfioDrivers.map { "manual_add_modules " + $0 }.joined(separator: "\n"))
        mkdir -p "$DESTDIR/lib/udev/rules.d" "$DESTDIR/etc/modprobe.d"
        cp -p \(Self.rulePath) "$DESTDIR/lib/udev/rules.d/"
        cp -p \(Self.modprobePath) "$DESTDIR/etc/modprobe.d/"

        """
    }
}
