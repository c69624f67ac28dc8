import ArgumentParser
import VFIOKit

struct ListCommand: VfioctlCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List every PCI function, grouped by IOMMU group",
        discussion: """
            Each row shows the group, address, class, [vendor:device] ids, driver and names. A '*' after the \
            driver marks a VFIO-bound function. A group is 'viable' when every member is unbound, VFIO-bound, \
            pci-stub or pcieport; otherwise the members that block it are listed by 'vfioctl show group:N'.

            Examples:
              vfioctl list
              vfioctl list --vfio
              vfioctl list --class 0300 --json
            """,
        aliases: ["ls"]
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Only this IOMMU group.", valueName: "N"))
    var group: Int?

    @Option(help: ArgumentHelp("Only functions bound to this driver ('none' for unbound ones).", valueName: "DRIVER"))
    var driver: String?

    @Option(
        name: .customLong("class"),
        help: ArgumentHelp("Only this class: a hex prefix of the class code (02, 0300, 010802) or a word of the class name (ethernet).", valueName: "CLASS"))
    var classFilter: String?

    @Flag(help: "Only functions bound to a VFIO driver.")
    var vfio = false

    @Flag(help: "Show the PCI hierarchy: functions under the bridges and switch ports they sit behind.")
    var tree = false

    func validate() throws {
        if let group, group < 0 { throw ValidationError("--group must be a group number (0 or more)") }
        if let classFilter, classFilter.isEmpty || classFilter.count > 64 { throw ValidationError("--class needs a value") }
    }

    func matches(_ device: PCIDevice) -> Bool {
        if let group, device.iommuGroup != group { return false }
        if let driver {
            if driver == "none" { if device.driver != nil { return false } }
            else if device.driver != driver { return false }
        }
        if vfio && !device.isVFIOBound { return false }
        if let classFilter {
            let lowered = classFilter.lowercased()
            let isHex = lowered.allSatisfy(\.isHexDigit) && lowered.count <= 6 && lowered.count % 2 == 0
            if isHex {
                if !device.classCodeHex.hasPrefix(lowered) { return false }
            } else if !(device.names.className?.lowercased().contains(lowered) ?? false) {
                return false
            }
        }
        return true
    }

    mutating func execute(_ context: CommandContext) throws -> ExitStatus {
        // Read only what this view shows: the table needs the core fields, the tree the
        // hierarchy and header types, JSON everything.
        let fields: InventoryReader.Fields =
            context.options.json ? .all : context.options.quiet ? [] : tree ? [.attributes, .topology] : []
        let inventory = try context.inventory(fields: fields)
        let shown = inventory.devices.filter(matches)
        let groups = inventory.sortedGroups
        if let group, inventory.groups[group] == nil {
            throw VFIOError.unavailable(inventory.iommuEnabled ? "no IOMMU group \(group)" : "no IOMMU group \(group): the IOMMU is off; run 'vfioctl doctor'")
        }
        if context.options.json {
            let shownGroups = Set(shown.compactMap(\.iommuGroup))
            context.console.emitJSON(
                ListDocument(
                    iommuEnabled: inventory.iommuEnabled,
                    devices: shown.map { DeviceJSON(device: $0, root: context.root) },
                    groups: groups.filter { shownGroups.contains($0.id) }.map { GroupJSON($0, viability: inventory.viability(of: $0)) }))
            return .success
        }
        if context.options.quiet { return .success }
        if tree {
            context.console.write(ListRendering.tree(inventory: inventory, shown: shown, color: context.color))
        } else {
            context.console.write(ListRendering.table(inventory: inventory, shown: shown, color: context.color))
        }
        if !inventory.iommuEnabled {
            context.console.error("vfioctl: the IOMMU is off (no groups in /sys/kernel/iommu_groups), so no device can be passed through; 'vfioctl doctor' explains")
        }
        return .success
    }
}

struct ListDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    let iommuEnabled: Bool
    let devices: [DeviceJSON]
    let groups: [GroupJSON]
}

enum ListRendering {
    static func driverCell(_ device: PCIDevice) -> String {
        var cell = (device.driver ?? "-") + (device.isVFIOBound ? "*" : "")
        if let persisted = device.driverctlOverride, persisted != device.driver { cell += " (driverctl: " + persisted + ")" }
        return cell
    }

    static func classCell(_ device: PCIDevice) -> String {
        (device.names.className ?? "Class") + " [" + hexString(device.classCode >> 8, width: 4) + "]"
    }

    static func nameCell(_ device: PCIDevice) -> String {
        let vendor = device.names.vendor ?? "Vendor " + hexString(UInt32(device.vendorID), width: 4)
        let name = device.names.device ?? "Device " + hexString(UInt32(device.deviceID), width: 4)
        return vendor + " " + name
    }

    /// Rows ordered by group (ungrouped functions last), the group cell only on a group's first row.
    static func table(inventory: HostInventory, shown: [PCIDevice], color: Bool) -> String {
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
    static func tree(inventory: HostInventory, shown: [PCIDevice], color: Bool) -> String {
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
            var line = prefix + branch + device.address.description + "  " + classCell(device) + "  [" + device.idPair + "]  "
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
