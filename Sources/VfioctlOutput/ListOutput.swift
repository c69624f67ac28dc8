import VFIOModel

package struct ListDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package let iommuEnabled: Bool
    package let devices: JSONElements<DeviceJSON>
    package let groups: JSONElements<GroupJSON>

    package init(iommuEnabled: Bool, devices: JSONElements<DeviceJSON>, groups: JSONElements<GroupJSON>) {
        self.iommuEnabled = iommuEnabled
        self.devices = devices
        self.groups = groups
    }

    package init(iommuEnabled: Bool, devices: [DeviceJSON], groups: [GroupJSON]) {
        self.init(iommuEnabled: iommuEnabled, devices: JSONElements(devices), groups: JSONElements(groups))
    }
}

package enum ListRendering {
    package static func driverCell(_ device: PCIDevice) -> String {
        var cell = (device.driver ?? "-") + (device.isVFIOBound ? "*" : "")
        if let persisted = device.driverctlOverride, persisted != device.driver { cell += " (driverctl: " + persisted + ")" }
        return cell
    }

    package static func classCell(_ device: PCIDevice) -> String {
        (device.names.className ?? "Class") + " [" + hexString(device.classCode >> 8, width: 4) + "]"
    }

    package static func nameCell(_ device: PCIDevice) -> String {
        let vendor = device.names.vendor ?? "Vendor " + hexString(UInt32(device.vendorID), width: 4)
        let name = device.names.device ?? "Device " + hexString(UInt32(device.deviceID), width: 4)
        return vendor + " " + name
    }

    /// Rows ordered by group (ungrouped functions last), the group cell only on a group's first row.
    package static func table(inventory: HostInventory, shown: [PCIDevice], color: Bool) -> String {
        var table = Table(["GROUP", "ADDRESS", "CLASS", "IDS", "DRIVER", "NAME"])
        let byGroup = Dictionary(grouping: shown, by: { $0.iommuGroup ?? -1 })
        var verdicts: [Int: Bool] = [:]
        for id in byGroup.keys.sorted(by: { ($0 < 0 ? Int.max : $0) < ($1 < 0 ? Int.max : $1) }) {
            var first = true
            let viable: Bool? = id >= 0 ? inventory.groups[id].map { inventory.viability(of: $0).viable } : nil
            for device in byGroup[id]!.sorted(by: { $0.address < $1.address }) {
                var groupCell = ""
                if first {
                    if let viable {
                        groupCell = String(id) + (viable ? " viable" : " blocked")
                        // vfio's no-IOMMU group: "viable" to VFIO, but nothing isolates it.
                        if inventory.groups[id]?.noIOMMU == true { groupCell += " no-IOMMU" }
                        verdicts[table.rows.count] = viable
                    } else {
                        groupCell = "-"
                    }
                }
                first = false
                table.add([groupCell, device.address.description, classCell(device), "[" + device.idPair + "]", driverCell(device), nameCell(device)])
            }
        }
        var out = table.render { index, line in
            guard let viable = verdicts[index] else { return line }
            return viable ? Paint.green(line, color) : Paint.red(line, color)
        }
        if shown.contains(where: \.isVFIOBound) { out += "* bound to a VFIO driver\n" }
        if shown.contains(where: { $0.driverctlOverride != nil && $0.driverctlOverride != $0.driver }) {
            out += "(driverctl: X) driverctl will rebind the function to X at the next hotplug or boot\n"
        }
        return out
    }

    /// The PCI hierarchy, children indented under their upstream bridge.
    package static func tree(inventory: HostInventory, shown: [PCIDevice], color: Bool) -> String {
        let shownSet = Set(shown.map(\.address))
        var children: [PCIAddress: [PCIDevice]] = [:]
        var roots: [PCIDevice] = []
        for device in inventory.devices {
            if let parent = device.parent, inventory.device(parent) != nil {
                children[parent, default: []].append(device)
            } else {
                roots.append(device)
            }
        }
        // Keep a node when it is shown or has a shown descendant, so filters keep the path to it.
        var keep: [PCIAddress: Bool] = [:]
        func kept(_ device: PCIDevice) -> Bool {
            if let known = keep[device.address] { return known }
            var result = shownSet.contains(device.address)
            for child in children[device.address] ?? [] where kept(child) { result = true }
            keep[device.address] = result
            return result
        }
        var out = ""
        func render(_ device: PCIDevice, prefix: String, last: Bool, top: Bool) {
            let branch = top ? "" : (last ? "└─ " : "├─ ")
            let group = device.iommuGroup.map { "group " + String($0) } ?? "no group"
            var line =
                prefix + branch + device.address.description + "  " + classCell(device) + "  [" + device.idPair + "]  "
                + driverCell(device) + "  " + group + "  " + nameCell(device)
            if device.isBridge { line = Paint.bold(line, color) }
            out += line + "\n"
            let kids = (children[device.address] ?? []).filter(kept).sorted { $0.address < $1.address }
            for (i, child) in kids.enumerated() {
                render(child, prefix: prefix + (top ? "" : (last ? "   " : "│  ")), last: i == kids.count - 1, top: false)
            }
        }
        for root in roots.filter(kept) { render(root, prefix: "", last: true, top: true) }
        return out
    }
}

extension Renderer {
    package func renderList(_ listing: HostListing, shown: [PCIDevice], tree: Bool) -> ExitStatus {
        let inventory = listing.inventory
        let groups = inventory.sortedGroups
        if mode == .json {
            let shownGroups = Set(shown.compactMap(\.iommuGroup))
            let listedGroups = groups.filter { shownGroups.contains($0.id) }
            let nodes = listing.nodes
            // Each element is made as it is written (on the writer's threads), not all first.
            console.emitJSON(
                ListDocument(
                    iommuEnabled: inventory.iommuEnabled,
                    devices: JSONElements(count: shown.count) { DeviceJSON(device: shown[$0], aliases: inventory.vfioAliases, nodes: nodes[shown[$0].address]) },
                    groups: JSONElements(count: listedGroups.count) { GroupJSON(listedGroups[$0], viability: inventory.viability(of: listedGroups[$0])) }))
            return .success
        }
        if mode == .quiet { return .success }
        if tree {
            console.write(ListRendering.tree(inventory: inventory, shown: shown, color: color))
        } else {
            console.write(ListRendering.table(inventory: inventory, shown: shown, color: color))
        }
        if !inventory.iommuEnabled {
            console.error("vfioctl: the IOMMU is off (no groups in /sys/kernel/iommu_groups), so no device can be passed through; 'vfioctl doctor' explains")
        }
        return .success
    }
}
