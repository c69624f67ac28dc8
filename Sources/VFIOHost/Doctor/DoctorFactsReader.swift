import VFIOModel

/// Reads `DoctorFacts` under a root prefix.
public struct DoctorFactsReader {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func read(inventory: HostInventory?) -> DoctorFacts {
        var facts = DoctorFacts()
        facts.platform = IOMMUPlatformReader(root: root).read(groups: inventory?.groups.keys.sorted() ?? [])
        if let inventory {
            // vfio's own no-IOMMU groups are no sign of an IOMMU.
            facts.noIOMMUGroups = inventory.groups.values.filter(\.noIOMMU).map(\.id).sorted()
            facts.groupCount = inventory.groups.count - facts.noIOMMUGroups.count
            for group in inventory.groups.values where !group.noIOMMU { facts.groupTypes[group.type ?? "unknown", default: 0] += 1 }
        }
        facts.inventory = inventory
        facts.commandLine = (Sysfs.read(root.path("/proc/cmdline")) ?? "").split(separator: " ").map(String.init)
        facts.kernelRelease = Sysfs.read(root.path("/proc/sys/kernel/osrelease"))
        facts.vfioPCIDriverPresent = Sysfs.isDirectory(root.pciDrivers + "/vfio-pci")
        for module in ["vfio", "vfio_pci", "vfio_pci_core", "vfio_iommu_type1", "iommufd"] where Sysfs.isDirectory(root.path("/sys/module/" + module)) {
            facts.loadedModules.insert(module)
        }
        if let release = facts.kernelRelease, !release.contains("/"), release != "..", !release.isEmpty {
            let dir = root.path("/lib/modules/" + release)
            let dep = Sysfs.readBytes(dir + "/modules.dep", limit: 1 << 24).map { String(decoding: $0, as: UTF8.self) }
            let builtin = Sysfs.readBytes(dir + "/modules.builtin", limit: 1 << 22).map { String(decoding: $0, as: UTF8.self) }
            if dep != nil || builtin != nil {
                facts.vfioPCIAvailable = (dep?.contains("/vfio-pci.ko") ?? false) || (builtin?.contains("/vfio-pci.ko") ?? false)
            }
        }
        func flag(_ path: String) -> Bool? { Sysfs.read(root.path(path)).map { $0 == "Y" || $0 == "1" } }
        facts.noIOMMUMode = flag("/sys/module/vfio/parameters/enable_unsafe_noiommu_mode")
        facts.interfaces = VFIOInterfaces.read(root: root)
        do {
            facts.recorded = try StateStore(root: root).load()
        } catch {
            facts.stateError = error.message
        }
        facts.memlock = readMemlock(facts.recorded)
        // Read with the inventory when it was (one pass over modules.alias per run).
        facts.vfioAliases = inventory?.vfioAliases ?? ModuleAliasReader.read(root: root)
        facts.hypervisor = Hypervisor.read(root: root)
        if let inventory, let desired = try? DesiredState.load(root: root) {
            facts.claims = ClaimFiles.claims(desired, inventory: inventory)
        }
        facts.claimRule = ClaimRuleReader.ruleAge(root: root)
        return facts
    }

    /// The memlock entries of `/etc/security/limits.conf` and `limits.d/*.conf`, in the order
    /// pam_limits reads them, judged for each owner the state file records.
    func readMemlock(_ state: HostState?) -> [(owner: NodeOwner, entry: MemlockLimits.Entry?)] {
        var owners: [NodeOwner] = []
        for owner in state?.devices.compactMap(\.owner) ?? [] where !owners.contains(owner) { owners.append(owner) }
        guard !owners.isEmpty else { return [] }
        func text(_ path: String) -> String? { Sysfs.readBytes(root.path(path), limit: 1 << 20).map { String(decoding: $0, as: UTF8.self) } }
        var entries = MemlockLimits.parse(text("/etc/security/limits.conf") ?? "", file: "/etc/security/limits.conf")
        let dropIns = (Sysfs.list(root.path("/etc/security/limits.d")) ?? []).filter { $0.hasSuffix(".conf") && !$0.hasPrefix(".") }.sorted()
        for name in dropIns {
            let path = "/etc/security/limits.d/" + name
            entries += MemlockLimits.parse(text(path) ?? "", file: path)
        }
        let users = UserDatabase.read(root: root)
        return owners.map { owner in
            (owner, MemlockLimits.effective(entries, user: owner.user, groups: users.groupNames(of: owner.user)))
        }
    }
}
