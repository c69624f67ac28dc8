/// Host processes and network stacking that use a function, worded as `DeviceUse`s. Pure.
extension InUseClassifier {
    /// One use per device and process that holds it through its host nodes (`host-held` in a
    /// scan with host nodes): who (pid, command, unit) and through which nodes.
    package static let nvidiaDriver = "nvidia"

    package static func holderUses(_ report: HolderReport) -> [DeviceUse] {
        var uses: [DeviceUse] = []
        for status in report.targets where status.state == .hostHeld {
            let address = status.target.address
            for pid in status.holders {
                guard let process = report.holder(pid) else { continue }
                let handles = process.handles.filter { $0.kind == .hostNode && $0.device == address }
                guard !handles.isEmpty else { continue }
                var use = hostProcessUse(address, process: process, handles: handles)
                if status.target.driver == Self.nvidiaDriver {
                    // The NVIDIA driver's remove waits, uninterruptibly, until every client has
                    // closed the GPU: forcing the unbind would hang vfioctl in the kernel.
                    use.forceable = false
                    use.remedy += " (--force cannot help: the nvidia driver's unbind waits until every client has closed the GPU)"
                }
                uses.append(use)
            }
        }
        return uses
    }

    package static func hostProcessUse(_ address: PCIAddress, process: HolderProcess, handles: [HeldHandle]) -> DeviceUse {
        var open: [String] = []
        var mapped: [String] = []
        for handle in handles {
            let path = UntrustedText.printable(handle.path, limit: 128)
            if handle.fd != nil {
                if !open.contains(path) { open.append(path) }
            } else if !mapped.contains(path) {
                mapped.append(path)
            }
        }
        let unit = process.unit.map { UntrustedText.printable($0, limit: 128) }
        var who = "pid " + String(process.pid) + " (" + UntrustedText.printable(process.command ?? "?", limit: 64)
        if let unit { who += ", " + unit }
        who += ")"
        var how: [String] = []
        if !open.isEmpty { how.append("has " + open.joined(separator: ", ") + " open") }
        if !mapped.isEmpty { how.append("has " + mapped.joined(separator: ", ") + " mapped") }
        let nodes = (open + mapped.filter { !open.contains($0) }).joined(separator: ", ")
        let remedy: String
        if let unit, unit.hasSuffix(".service") {
            remedy = "systemctl stop " + unit
        } else {
            remedy = "make pid " + String(process.pid) + " close " + nodes + ", or end it (kill " + String(process.pid) + ")"
        }
        return DeviceUse(address: address, kind: .openDeviceNode, what: who + " " + how.joined(separator: " and "), remedy: remedy)
    }

    /// How an interface is tied into the host's network, from sysfs.
    package struct NetworkLinks: Equatable {
        package enum MasterKind: Equatable {
            case bridge
            case bond
            /// A team, an Open vSwitch datapath, a VRF…: a master that is not a bridge or bond.
            case other
        }

        package var master: String?
        package var masterKind: MasterKind?
        /// Upper devices other than the master (VLAN, macvlan, ipvlan), with whether each is up
        /// and its kind (`vlan`, `macvlan`, from the uevent's DEVTYPE) when known.
        package var uppers: [(name: String, up: Bool, kind: String?)] = []

        package static func == (a: NetworkLinks, b: NetworkLinks) -> Bool {
            a.master == b.master && a.masterKind == b.masterKind
                && a.uppers.map { "\($0.name)|\($0.up)|\($0.kind ?? "")" } == b.uppers.map { "\($0.name)|\($0.up)|\($0.kind ?? "")" }
        }

        package init(master: String? = nil, masterKind: MasterKind? = nil, uppers: [(name: String, up: Bool, kind: String?)] = []) {
            self.master = master
            self.masterKind = masterKind
            self.uppers = uppers
        }
    }

    /// An XDP program attached to one of its interfaces.
    package static func xdpUse(_ address: PCIAddress, interface name: String, attachment: XDPAttachment) -> DeviceUse {
        let nic = UntrustedText.printable(name, limit: 32)
        let program = attachment.programID.map { "program " + String($0) + ", " } ?? ""
        let mode: String
        switch attachment.mode {
        case .driver: mode = "in the driver"
        case .generic: mode = "generic"
        case .offload: mode = "offloaded"
        case .multiple: mode = "in several modes"
        }
        return DeviceUse(
            address: address, kind: .xdpProgram, what: nic + " has an XDP program attached (" + program + mode + ")",
            remedy: attachment.detachCommand(interface: nic))
    }

    /// A bridge port or a bond/team slave is in use whatever its addresses (the bridge's or
    /// bond's traffic runs through it); so is an interface carrying an upper device that is up.
    package static func linkUses(_ address: PCIAddress, interface name: String, links: NetworkLinks) -> [DeviceUse] {
        var uses: [DeviceUse] = []
        let nic = UntrustedText.printable(name, limit: 32)
        if let master = links.master.map({ UntrustedText.printable($0, limit: 32) }) {
            let remedy = "ip link set " + nic + " nomaster"
            switch links.masterKind ?? .other {
            case .bridge:
                uses.append(DeviceUse(address: address, kind: .bridgePort, what: nic + " is a port of bridge " + master, remedy: remedy))
            case .bond:
                uses.append(DeviceUse(address: address, kind: .bondSlave, what: nic + " is a slave of bond " + master, remedy: remedy))
            case .other:
                uses.append(DeviceUse(address: address, kind: .bondSlave, what: nic + " is enslaved to " + master, remedy: remedy))
            }
        }
        for upper in links.uppers where upper.up {
            let upperName = UntrustedText.printable(upper.name, limit: 32)
            let kind = upper.kind.map { UntrustedText.printable($0, limit: 16) + " " } ?? ""
            uses.append(
                DeviceUse(
                    address: address, kind: .upperDevice, what: nic + " carries " + kind + upperName + ", which is up",
                    remedy: "ip link delete " + upperName))
        }
        return uses
    }
}
