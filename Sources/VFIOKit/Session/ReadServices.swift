import VFIOHost
import VFIOModel
import VFIOWriters

/// The services that only look: each reads what its view needs, in one place, and returns it
/// resolved, so the front end renders values and never reads the host itself.
extension HostSession {
    /// libpci pointed at this root, for names and config space; nil when it cannot start.
    func database() -> PCIDatabase? {
        PCIDatabase(root: root, idsFile: pciIDsFile)
    }

    /// The inventory with names from libpci.
    func namedInventory(_ fields: InventoryFields = .all, database: PCIDatabase? = nil) throws(VFIOError) -> HostInventory {
        try InventoryReader(root: root, database: database ?? self.database(), fields: fields).read()
    }

    /// `list`: the snapshot with what `detail` shows, read only as far as it goes (`list` on
    /// thousands of functions is bounded by system calls).
    public func list(_ detail: ListDetail) throws(VFIOError) -> HostListing {
        let fields: InventoryFields
        switch detail {
        case .document: fields = .all
        case .tree: fields = [.attributes, .topology]
        case .table, .none: fields = []
        }
        let inventory = try namedInventory(fields)
        guard detail == .document else { return HostListing(inventory: inventory) }
        // One listing of /dev/vfio answers for every function; only a VFIO-bound one has nodes.
        let reader = VFIONodeReader.listing(root: root)
        var nodes: [PCIAddress: VFIONodes] = [:]
        for device in inventory.devices where device.isVFIOBound { nodes[device.address] = reader.nodes(of: device) }
        return HostListing(inventory: inventory, nodes: nodes)
    }

    /// `show`: the devices `target` names, with their holders (one /proc scan for all, through
    /// VFIO or a host-bound device's own nodes), config space, VFIO nodes and attach verdicts.
    public func show(_ target: Target) throws(VFIOError) -> ShowView {
        let database = self.database()
        let inventory = try namedInventory(database: database)
        let devices = try inventory.resolve(target)
        let report = try? holderFinder(options: .init(hostNodes: true)).find(devices.map(\.address))
        let holders = devices.map { device in
            report.flatMap { $0.covers(device.address) ? $0.restricted(to: device.address) : nil }
        }
        var groups = Set(devices.compactMap(\.iommuGroup))
        var groupPage = false
        if case .group(let id) = target {
            groups.insert(id)
            groupPage = inventory.groups[id] != nil
        }
        var view = ShowView(target: target, devices: devices, holders: holders, inventory: inventory)
        // A group's page lists its members; their config space is on their own pages.
        if !groupPage {
            for device in devices { view.config[device.address] = configReport(device, inventory: inventory, database: database) }
        }
        let reader = VFIONodeReader(root: root)
        let interfaces = VFIOInterfaces.read(root: root)
        for device in devices where device.isVFIOBound {
            let noIOMMU = device.iommuGroup.flatMap { inventory.groups[$0] }?.noIOMMU ?? false
            view.nodes[device.address] = reader.nodes(of: device, made: (interfaces, noIOMMU))
        }
        if !view.nodes.isEmpty { view.users = UserDatabase.read(root: root) }
        view.domains = (try? store.load())?.domains ?? [:]
        view.attach = attachVerdicts(groups.sorted())
        return view
    }

    /// Config space of `device` and ACS of every port above it, through libpci.
    func configReport(_ device: PCIDevice, inventory: HostInventory, database: PCIDatabase?) -> ConfigReport {
        let space = database?.fullConfigSpace(device.address)
        var upstream: [ConfigReport.UpstreamACS] = []
        var seen = Set<PCIAddress>()
        var parent = device.parent
        while let address = parent, seen.insert(address).inserted {
            upstream.append(ConfigReport.UpstreamACS(address: address.description, acs: database?.fullConfigSpace(address)?.acs))
            parent = inventory.device(address)?.parent
        }
        let express = space?.express
        var flr: Bool?
        if let space, space.hasCapabilityArea { flr = (express?.flr ?? false) || space.advancedFeaturesFLR }
        return ConfigReport(
            readableBytes: space?.bytes.count ?? 0, capabilities: space?.capabilities ?? [], msi: space?.msi, msix: space?.msix,
            express: express, flr: flr, acs: space?.acs, upstreamACS: upstream)
    }

    /// `holders`: who holds the targets, through VFIO or a host-bound device's own nodes.
    public func holders(_ targets: [Target], command: String = "holders") throws(VFIOError) -> HoldersView {
        let addresses = try holderTargets(targets, command: command)
        let report = try holderFinder(options: .init(hostNodes: true)).find(addresses)
        return HoldersView(report: report, domains: (try? store.load())?.domains ?? [:])
    }

    /// `wait`: one bounded wait until no process holds the targets; progress arrives as
    /// `SessionEvent`s.
    public func wait(for targets: [Target], timeout: Duration) throws(VFIOError) -> WaitView {
        let addresses = try holderTargets(targets, command: "wait")
        let outcome = try waitForHolders(addresses, timeout: timeout, since: ContinuousClock().now)
        return WaitView(addresses: addresses, outcome: outcome, timeout: timeout)
    }

    /// The targets of `holders` and `wait`, resolved to functions in order, without duplicates
    /// (a group and one of its members may both be named).
    func holderTargets(_ targets: [Target], command: String) throws(VFIOError) -> [PCIAddress] {
        guard !targets.isEmpty else {
            throw .usage("\(command) needs at least one TARGET: " + Target.acceptedForms)
        }
        let inventory = try self.inventory()
        var addresses: [PCIAddress] = []
        var seen = Set<PCIAddress>()
        for target in targets {
            let devices = try inventory.resolve(target)
            if devices.isEmpty { throw .unavailable("\(target) has no PCI functions") }
            for device in devices where seen.insert(device.address).inserted { addresses.append(device.address) }
        }
        return addresses
    }

    /// `doctor`: the findings from the facts read once (an unreadable inventory is a finding).
    public func doctor() -> [Finding] {
        let inventory = try? namedInventory()
        return Doctor.diagnose(DoctorFactsReader(root: root).read(inventory: inventory))
    }

    /// `cdi`: the spec for this host as it is now, and with `output`, written there (host-
    /// absolute, under the root prefix) unless the file already has this content.
    public func cdi(kind: String = CDISpec.defaultKind, output: String? = nil) throws(VFIOError) -> CDIView {
        try CDISpec.validateKind(kind)
        if let output, !output.hasPrefix("/") || output.contains("\0") || output.hasSuffix("/") {
            throw .usage("--output must be an absolute file path such as \(CDISpec.defaultPath)")
        }
        let spec = try CDISpec.read(root: root, kind: kind)
        guard let output else { return CDIView(spec: spec, update: nil) }
        let changed = try spec.write(to: output)
        return CDIView(spec: spec, update: CDIUpdate(path: output, devices: spec.devices.map(\.name), changed: changed))
    }

    /// The desired state: `/etc/vfioctl.conf` and its drop-ins under the root, or one file.
    public func desiredState(file: String? = nil) throws(VFIOError) -> DesiredState {
        try DesiredState.load(root: root, file: file)
    }

    /// Shell completion: addresses, groups and ids under `root` that start with `prefix`.
    public static func targetCandidates(_ prefix: String, root: HostRoot) -> [String] {
        TargetCandidates.matching(prefix, root: root)
    }

    /// The root prefix a front end was given, checked: an absolute path to a directory.
    public static func root(_ path: String) throws(VFIOError) -> HostRoot {
        guard path.hasPrefix("/"), !path.contains("\0"), !path.contains("\n") else {
            throw .usage("invalid root '\(path)': expected an absolute directory path")
        }
        guard Sysfs.isDirectory(path) else {
            throw .usage("invalid root '\(path)': not a directory")
        }
        return HostRoot(path: path)
    }
}
