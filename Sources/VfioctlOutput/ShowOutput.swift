import VFIOModel

package struct DeviceShowDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var device: DeviceJSON
    @Nullable package var group: GroupJSON?
    package var config: ConfigReport
    /// Processes holding the device through VFIO or, on its host driver, through its host
    /// nodes; null when it is neither VFIO-bound nor has host nodes.
    @Nullable package var holders: [ShowHolders.JSON]?
    /// The VM `vfioctl hook` bound it for (the state file's record); null otherwise.
    @Nullable package var boundForDomain: String?
    /// Whether VFIO will attach the device's group on this host; null without a group.
    @Nullable package var attach: AttachJSON?
}

package struct MultiShowDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package let results: [DeviceShowDocument]
}

package struct GroupShowDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package let group: GroupJSON
    package let devices: [DeviceJSON]
    /// Whether VFIO will attach the group on this host.
    @Nullable package var attach: AttachJSON?
}

package enum ShowRendering {
    package static func field(_ name: String, _ value: String) -> String {
        "  " + name + ":" + String(repeating: " ", count: max(1, 18 - name.count)) + value + "\n"
    }

    /// `nobody:root 0600`: owner and group by name where the passwd and group files list them.
    package static func access(_ status: NodeStatus, _ users: UserDatabase) -> String {
        let user = users.users.first { $0.uid == status.uid }?.name ?? String(status.uid)
        let group = users.groups.first { $0.gid == status.gid }?.name ?? String(status.gid)
        return user + ":" + group + " " + status.modeText
    }

    package static func device(
        _ d: PCIDevice, inventory: HostInventory, nodes: VFIONodes?, users: UserDatabase, color: Bool, attach: [Int: AttachVerdict] = [:]
    ) -> String {
        var out = Paint.bold(d.address.description, color) + "  " + ListRendering.classCell(d) + ": " + ListRendering.nameCell(d) + " [" + d.idPair + "]"
        if let revision = d.revision { out += " (rev " + hexString(UInt32(revision), width: 2) + ")" }
        out += "\n"
        if let sv = d.subsystemVendorID, let sd = d.subsystemDeviceID {
            out += field("Subsystem", (d.names.subsystem.map { $0 + " " } ?? "") + "[" + hexString(UInt32(sv), width: 4) + ":" + hexString(UInt32(sd), width: 4) + "]")
        }
        var driverText = d.driver ?? "none"
        if d.isVFIOBound { driverText += " (VFIO)" }
        out += field("Driver", driverText)
        out += field("driver_override", d.driverOverride ?? "(none)")
        if let persisted = d.driverctlOverride {
            out += field("driverctl", persisted + " (persisted in /etc/driverctl.d/pci-" + d.address.description + "; re-applied at hotplug and boot)")
        }
        let kind: String
        switch d.headerType {
        case 0: kind = "endpoint (header type 0)"
        case 1: kind = "PCI-to-PCI bridge (header type 1); vfio-pci cannot take it"
        case 2: kind = "CardBus bridge (header type 2); vfio-pci cannot take it"
        case let t?: kind = "header type " + String(t)
        case nil: kind = d.isBridge ? "bridge" : "unknown (config space unreadable)"
        }
        out += field("Kind", kind + (d.multiFunction ? ", multi-function" : ""))
        if let parent = d.parent { out += field("Upstream", parent.description) }
        out += field("NUMA node", d.numaNode.map { $0 < 0 ? "none" : String($0) } ?? "unknown")
        out += field("Reset methods", d.resetMethods.map { $0.isEmpty ? "none (disabled)" : $0.joined(separator: " ") } ?? "none offered")
        if let bootVGA = d.bootVGA { out += field("Boot VGA", bootVGA ? "yes (the firmware console may be on it)" : "no") }
        if let enable = d.enableCount {
            var text = String(enable)
            if d.isVFIOBound { text += enable > 0 ? " (a process has the device open)" : " (not open)" }
            out += field("enable", text)
        }
        if d.isVFIOBound, let nodes {
            let shown = nodes.made.map { path in nodes.status(path).map { path + " (" + access($0, users) + ")" } ?? path + " (missing)" }
            out += field("VFIO nodes", shown.isEmpty ? "none" : shown.joined(separator: ", "))
        }
        if let pf = d.physicalFunction { out += field("SR-IOV", "virtual function of " + pf.description) }
        if let sriov = d.sriov {
            var text = String(sriov.numVFs) + " of " + String(sriov.totalVFs) + " VFs enabled"
            if let autoprobe = sriov.driversAutoprobe { text += ", drivers autoprobe " + (autoprobe ? "on" : "off") }
            if let vfID = sriov.vfDeviceID { text += ", VF device id " + hexString(UInt32(vfID), width: 4) }
            out += field("SR-IOV", text)
            for vf in sriov.virtualFunctions {
                let vfDevice = inventory.device(vf)
                out +=
                    "      " + vf.description + "  " + (vfDevice?.driver ?? "-") + (vfDevice?.isVFIOBound == true ? "*" : "")
                    + "  " + (vfDevice?.iommuGroup.map { "group " + String($0) } ?? "no group") + "\n"
            }
        }
        if let id = d.iommuGroup, let group = inventory.groups[id] {
            out += groupSummary(group, inventory: inventory, highlight: d.address, color: color, attach: attach[id])
        } else {
            out += field("IOMMU group", inventory.iommuEnabled ? "none (this device is not behind an IOMMU)" : "none (the IOMMU is off; run 'vfioctl doctor')")
        }
        return out
    }

    package static func verdictText(_ viability: Viability, color: Bool, attach: AttachVerdict? = nil) -> String {
        guard viability.viable else { return Paint.red("not viable", color) }
        if attach?.status == .refused { return Paint.red(AttachRendering.viableText(attach), color) }
        return Paint.green("viable", color)
    }

    /// A group that VFIO will not attach here, or attaches only unsafely, not yet said by the
    /// verdict (a non-viable group, or allow_unsafe_interrupts on).
    package static func attachField(_ viability: Viability, _ attach: AttachVerdict?) -> String {
        guard let attach, let warning = attach.warning else { return "" }
        if viability.viable && attach.status == .refused { return "" }
        return field("VFIO attach", warning)
    }

    /// The mark of a group vfio made in no-IOMMU mode.
    package static func noIOMMUText(_ group: IOMMUGroup, color: Bool) -> String {
        group.noIOMMU ? ", " + Paint.red("no-IOMMU", color) + " (no DMA isolation)" : ""
    }

    package static func groupSummary(_ group: IOMMUGroup, inventory: HostInventory, highlight: PCIAddress?, color: Bool, attach: AttachVerdict? = nil) -> String {
        let viability = inventory.viability(of: group)
        var out = field(
            "IOMMU group",
            String(group.id) + " (" + verdictText(viability, color: color, attach: attach) + ")" + noIOMMUText(group, color: color)
                + (group.type.map { ", default domain " + $0 } ?? ""))
        out += attachField(viability, attach)
        for member in inventory.members(of: group) {
            var line = "      " + member.address.description + "  " + ListRendering.driverCell(member)
            if member.address == highlight { line += "  (this device)" }
            if let blocker = viability.blockers.first(where: { $0.address == member.address }) {
                line += "  " + Paint.red("blocks: ", color) + blocker.reason
            } else if member.isBridge {
                line += "  bridge, stays on the host"
            }
            out += line + "\n"
        }
        for other in group.otherMembers { out += "      " + other + "  (not a PCI function)\n" }
        if !viability.viable {
            out += field("To use it", "vfioctl bind --group group:" + String(group.id) + "  (moves every endpoint of the group)")
        }
        for region in group.reservedRegions {
            out += field(
                "Reserved region",
                "0x" + hexString(UInt32(truncatingIfNeeded: region.start >> 32), width: 8) + hexString(UInt32(truncatingIfNeeded: region.start), width: 8)
                    + "-0x" + hexString(UInt32(truncatingIfNeeded: region.end >> 32), width: 8) + hexString(UInt32(truncatingIfNeeded: region.end), width: 8) + " " + region.type)
        }
        return out
    }

    package static func group(_ group: IOMMUGroup, viability: Viability, inventory: HostInventory, color: Bool, attach: AttachVerdict? = nil) -> String {
        var out =
            Paint.bold("IOMMU group " + String(group.id), color) + ": " + verdictText(viability, color: color, attach: attach) + noIOMMUText(group, color: color) + "\n"
        out += attachField(viability, attach)
        if let type = group.type { out += field("Default domain", type) }
        for member in inventory.members(of: group) {
            out +=
                "  " + member.address.description + "  " + ListRendering.classCell(member) + "  [" + member.idPair + "]  " + ListRendering.driverCell(member) + "  "
                + ListRendering.nameCell(member) + "\n"
            if let blocker = viability.blockers.first(where: { $0.address == member.address }) {
                out += "      " + Paint.red("blocks: ", color) + blocker.reason + "\n"
            }
        }
        for other in group.otherMembers { out += "  " + other + "  (not a PCI function)\n" }
        if !viability.viable {
            out += field("To use it", "vfioctl bind --group group:" + String(group.id) + "  (moves every endpoint of the group)")
        }
        for region in group.reservedRegions {
            out += field("Reserved region", "0x" + String(region.start, radix: 16) + "-0x" + String(region.end, radix: 16) + " " + region.type)
        }
        return out
    }
}

/// The holders `show` reports for a VFIO-bound device or a host-bound one with host nodes (a
/// /proc scan; `holders` has the details).
package enum ShowHolders {
    package struct JSON: Encodable {
        var pid: Int32
        @Nullable var command: String?
        @Nullable var unit: String?
        /// What it holds the device through: node paths, fds' and mappings' link text.
        var through: [String]

        init(_ p: HolderProcess) {
            pid = p.pid
            command = p.command
            unit = p.unit
            var paths: [String] = []
            for handle in p.handles where handle.kind != .container && !paths.contains(handle.path) { paths.append(handle.path) }
            through = paths
        }
    }
}

extension Renderer {
    package func render(_ view: ShowView) -> ExitStatus {
        guard mode != .quiet else { return .success }
        let inventory = view.inventory
        if case .group(let id) = view.target, let group = inventory.groups[id] {
            let viability = inventory.viability(of: group)
            if mode == .json {
                console.emitJSON(
                    GroupShowDocument(
                        group: GroupJSON(group, viability: viability),
                        devices: view.devices.map { DeviceJSON(device: $0, aliases: inventory.vfioAliases, nodes: view.nodes[$0.address]) },
                        attach: view.attach[id].map(AttachJSON.init)))
            } else {
                console.write(ShowRendering.group(group, viability: viability, inventory: inventory, color: color, attach: view.attach[id]))
            }
            return .success
        }
        let shown = Array(zip(view.devices, view.holders))
        let aliases = inventory.vfioAliases
        if mode == .json {
            let documents = shown.map { device, report in
                DeviceShowDocument(
                    device: DeviceJSON(device: device, aliases: aliases, nodes: view.nodes[device.address]),
                    group: device.iommuGroup.flatMap { inventory.groups[$0] }.map { GroupJSON($0, viability: inventory.viability(of: $0)) },
                    config: view.config[device.address] ?? .unread,
                    holders: report.map { $0.holders.map(ShowHolders.JSON.init) }, boundForDomain: view.domains[device.address],
                    attach: device.iommuGroup.flatMap { view.attach[$0] }.map(AttachJSON.init))
            }
            if case .address = view.target { console.emitJSON(documents[0]) } else { console.emitJSON(MultiShowDocument(results: documents)) }
            return .success
        }
        let text = shown.map { device, report in
            var out = ShowRendering.device(
                device, inventory: inventory, nodes: view.nodes[device.address], users: view.users, color: color, attach: view.attach)
            if let domain = view.domains[device.address] { out += ShowRendering.field("Bound for", "domain " + UntrustedText.printable(domain)) }
            if !device.isBridge, let aliases {
                let choice = VFIODriverChoice.choose(for: device, aliases: aliases)
                let fits = choice.candidates.map(\.driver)
                out += ShowRendering.field(
                    "VFIO drivers", (fits.isEmpty ? "vfio-pci" : fits.joined(separator: ", ")) + "; --driver auto: " + choice.driver + " (" + choice.reason + ")")
            }
            if let report {
                let summary = report.summary
                out += ShowRendering.field("Holders", summary.isEmpty ? "none (no process has it open)" : summary)
            }
            return out + ShowRendering.config(view.config[device.address] ?? .unread, color: color)
        }
        console.write(text.joined(separator: "\n"))
        return .success
    }
}
