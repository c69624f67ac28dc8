/// One verdict of `doctor`.
public struct Finding: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable, Comparable {
        case ok, warn, fail
        public static func < (a: Status, b: Status) -> Bool {
            let order: [Status] = [.ok, .warn, .fail]
            return order.firstIndex(of: a)! < order.firstIndex(of: b)!
        }
    }

    public var check: String
    public var status: Status
    public var message: String
    /// What to do about it; nil (JSON null) when nothing needs doing.
    @Nullable public var fix: String?

    public init(_ check: String, _ status: Status, _ message: String, fix: String? = nil) {
        self.check = check
        self.status = status
        self.message = message
        self.fix = fix
    }
}

/// The checks behind `vfioctl doctor`: pure functions of `DoctorFacts`.
public enum Doctor {
    public static func diagnose(_ facts: DoctorFacts) -> [Finding] {
        var findings: [Finding] = []
        findings.append(iommu(facts))
        if let translation = translation(facts) { findings.append(translation) }
        findings.append(interruptRemapping(facts))
        findings.append(contentsOf: commandLine(facts))
        findings.append(vfioModules(facts))
        findings.append(contentsOf: unsafeSwitches(facts))
        if let noIOMMU = noIOMMU(facts) { findings.append(noIOMMU) }
        if let interfaces = vfioInterfaces(facts) { findings.append(interfaces) }
        findings.append(contentsOf: groupShapes(facts))
        if let state = stateFile(facts) { findings.append(state) }
        findings.append(contentsOf: lockedMemory(facts))
        findings.append(contentsOf: variantDrivers(facts))
        findings.append(contentsOf: claimAtAdd(facts))
        return findings
    }

    /// A device on plain vfio-pci although a variant driver's alias matches it: the variant
    /// adds what vfio-pci lacks (live migration state, device-specific regions).
    static func variantDrivers(_ facts: DoctorFacts) -> [Finding] {
        guard !facts.vfioAliases.isEmpty, let inventory = facts.inventory else { return [] }
        return inventory.devices.filter { $0.driver == DriverName.vfioPCI }.compactMap { device in
            let choice = VFIODriverChoice.choose(for: device, aliases: facts.vfioAliases)
            guard choice.hasVariant else { return nil }
            return Finding(
                "variant-driver", .warn, "\(device.address) is on vfio-pci, but \(choice.driver) fits it: \(choice.reason)",
                fix: "vfioctl bind \(device.address) --driver auto while no process holds it")
        }
    }

    /// Each owner of VFIO nodes needs a locked-memory limit that covers its DMA mappings; the
    /// usual default (8 MiB with systemd) makes VFIO_IOMMU_MAP_DMA fail with ENOMEM.
    static func lockedMemory(_ facts: DoctorFacts) -> [Finding] {
        facts.memlock.map { owner, entry in
            let user = owner.user
            let fix =
                "add '\(user) - memlock unlimited' to /etc/security/limits.d/vfio.conf for login sessions, or LimitMEMLOCK=infinity in the unit of the service that runs as \(user); systemd user limits are not read here: check the running process with 'prlimit --memlock --pid PID'"
            guard let entry else {
                return Finding(
                    "memlock", .warn,
                    "\(user) owns VFIO nodes but no memlock entry in /etc/security/limits.conf or limits.d applies to it: the default (often 8 MiB) is too small for DMA mappings",
                    fix: fix)
            }
            if let bytes = entry.limit.bytes, bytes < MemlockLimits.typical {
                return Finding(
                    "memlock", .warn, "\(user) owns VFIO nodes but may lock only \(entry.limit.description) (\(entry.source)): DMA mappings of a VM or a DPDK pool need more",
                    fix: fix)
            }
            return Finding("memlock", .ok, "\(user) owns VFIO nodes and may lock \(entry.limit.description) of memory (\(entry.source))")
        }
    }

    /// Devices vfioctl moved that are no longer where it left them (moved behind its back, or
    /// an operation that was interrupted).
    static func stateFile(_ facts: DoctorFacts) -> Finding? {
        if let error = facts.stateError {
            return Finding("state", .fail, "the state file cannot be used: \(error)", fix: "inspect /run/vfioctl/state.json; move it away to start afresh")
        }
        guard let state = facts.recorded, !state.devices.isEmpty else { return nil }
        var interrupted: [String] = []
        var moved: [String] = []
        var gone: [String] = []
        for record in state.devices {
            switch record.status {
            case .pending, .rollbackFailed:
                interrupted.append("\(record.address) (\(record.status.rawValue))")
            case .bound:
                guard let inventory = facts.inventory else { continue }
                guard let device = inventory.device(record.address) else {
                    gone.append(record.address.description)
                    continue
                }
                if device.driver != record.boundDriver {
                    moved.append("\(record.address) is on \(device.driver ?? "no driver"), not \(record.boundDriver ?? "no driver")")
                }
            }
        }
        if !interrupted.isEmpty {
            return Finding(
                "state", .fail, "an operation was interrupted or could not roll back: " + interrupted.joined(separator: ", "),
                fix: "'vfioctl show ADDRESS' shows where each is; 'vfioctl restore' returns them to their original drivers")
        }
        if !moved.isEmpty || !gone.isEmpty {
            let text = (moved + gone.map { $0 + " is gone" }).joined(separator: "; ")
            return Finding(
                "state", .warn, "devices vfioctl moved are no longer where it left them: " + text,
                fix: "something else rebound them (driverctl, udev, a script); 'vfioctl restore' or 'vfioctl bind' sets them straight")
        }
        return Finding("state", .ok, "\(state.devices.count) device\(state.devices.count == 1 ? "" : "s") moved by vfioctl, all where it left them")
    }

    /// The kind of a unit, from what it is (`IOMMUKind.identify`), not from its name.
    static func kind(of unit: IOMMUUnit) -> String {
        unit.kind == .other ? (unit.parentDriver ?? "IOMMU") : unit.kind.title
    }

    static func iommu(_ facts: DoctorFacts) -> Finding {
        if facts.platform.units.isEmpty && facts.groupCount == 0 {
            var fix = "enable VT-d / AMD-Vi (IOMMU) in the firmware setup"
            if let value = facts.parameter("intel_iommu"), value.contains("off") {
                fix = "remove intel_iommu=off from the kernel command line"
            } else if let value = facts.parameter("amd_iommu"), value.contains("off") {
                fix = "remove amd_iommu=off from the kernel command line"
            } else if let hypervisor = facts.hypervisor {
                fix = hypervisor.iommuFix
            } else {
                fix += ", and on Intel boot with intel_iommu=on"
            }
            return Finding("iommu", .fail, "no IOMMU: /sys/class/iommu is empty and there are no IOMMU groups, so no device can be passed through", fix: fix)
        }
        let kinds = Set(facts.platform.units.map(kind)).sorted().joined(separator: ", ")
        // The driver that registered a unit is the evidence of its kind where the name is not
        // (a virtio-iommu is named after its PCI function).
        let units = facts.platform.units.map { unit in unit.parentDriver.map { unit.name + " [" + $0 + "]" } ?? unit.name }.joined(separator: " ")
        if facts.groupCount == 0 {
            return Finding("iommu", .fail, "\(kinds) present (\(units)) but no IOMMU groups were created", fix: "check dmesg for IOMMU errors; on Intel boot with intel_iommu=on")
        }
        return Finding("iommu", .ok, "\(kinds.isEmpty ? "IOMMU" : kinds) on (\(units.isEmpty ? "no units listed" : units)), \(facts.groupCount) groups")
    }

    static func translation(_ facts: DoctorFacts) -> Finding? {
        guard facts.groupCount > 0 else { return nil }
        let summary = facts.groupTypes.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        if facts.groupTypes.keys.contains(where: { $0 == "identity" }) {
            return Finding(
                "translation", .ok,
                "host devices bypass translation (identity/passthrough: \(summary)); VFIO still isolates the groups it owns with its own domains")
        }
        if facts.groupTypes.keys.contains(where: { $0 == "blocked" || $0 == "unknown" }) {
            return Finding("translation", .warn, "some groups have no usable default domain (\(summary))", fix: "check dmesg for IOMMU errors")
        }
        return Finding("translation", .ok, "DMA translation for host devices (\(summary))")
    }

    /// Whether MSIs are isolated behind every unit, which VFIO checks at attach: without it
    /// type1's VFIO_SET_IOMMU and the iommufd bind fail with EPERM unless the module's
    /// allow_unsafe_interrupts is on (docs/kernel-notes.md, "IOMMU units and interrupt remapping").
    static func interruptRemapping(_ facts: DoctorFacts) -> Finding {
        let platform = facts.platform
        guard !platform.units.isEmpty || facts.groupCount > 0 else {
            return Finding("interrupt-remapping", .warn, "cannot be known without an IOMMU")
        }
        guard !platform.units.isEmpty else {
            if facts.platform.interrupts.remapped { return Finding("interrupt-remapping", .ok, "enabled (IR- interrupt chips in /proc/interrupts)") }
            return Finding(
                "interrupt-remapping", .warn,
                "cannot be known here (no IOMMU unit in /sys/class/iommu, no IR- chips in /proc/interrupts); VFIO reports EPERM at attach if it is missing")
        }
        let judged = platform.units.map { ($0, platform.isolation(of: $0)) }
        if let missing = judged.first(where: { $0.1.isMissing }) {
            let unit = missing.0
            let what = unit.label + ": " + missing.1.text
            let iommufdRefuses = platform.iommufdAllowUnsafe != nil && !platform.iommufdAllows
            if platform.type1Allows {
                return Finding(
                    "interrupt-remapping", .warn,
                    "none (\(what)); VFIO attaches groups only because \(IOMMUPlatform.type1Parameter) is on, so a device passed through can forge MSIs"
                        + (iommufdRefuses ? "; iommufd still refuses them (\(IOMMUPlatform.iommufdParameter) is off)" : ""),
                    fix: "pass devices through only on a platform that remaps interrupts, or accept the risk knowingly")
            }
            var fix =
                "to accept the risk: echo 1 > /sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts, or \(IOMMUPlatform.type1Parameter)=1 on the kernel command line (\(IOMMUPlatform.iommufdParameter)=1 for iommufd); a device in a VFIO group can then raise any interrupt on the host by a DMA write to the MSI window"
            if unit.kind == .intelVTd, unit.intelCanRemap == true {
                fix = "remove intremap=off / nointremap from the kernel command line; or " + fix
            } else if unit.kind == .amdVi {
                fix = "remove intremap=off from the kernel command line; or " + fix
            }
            let refusal =
                platform.iommufdAllows
                ? "VFIO containers refuse its groups (VFIO_SET_IOMMU fails with EPERM) while \(IOMMUPlatform.type1Parameter) is off; iommufd accepts them (\(IOMMUPlatform.iommufdParameter) is on)"
                : "VFIO refuses to attach its groups (VFIO_SET_IOMMU and the iommufd bind fail with EPERM) while \(IOMMUPlatform.type1Parameter) is off"
            return Finding("interrupt-remapping", .fail, "none (\(what)): " + refusal, fix: fix)
        }
        if let unknown = judged.first(where: { if case .unknown = $0.1 { true } else { false } }) {
            return Finding(
                "interrupt-remapping", .warn,
                "cannot be known here (\(unknown.0.label): \(unknown.1.text)); VFIO reports EPERM at attach if MSIs are not isolated")
        }
        let how = Set(judged.map(\.1.text)).sorted().joined(separator: "; ")
        return Finding("interrupt-remapping", .ok, "MSIs are isolated: " + how)
    }

    static func commandLine(_ facts: DoctorFacts) -> [Finding] {
        var findings: [Finding] = []
        let relevant = [
            "intel_iommu", "amd_iommu", "iommu", "iommu.passthrough", "iommu.strict", "pcie_acs_override", "vfio-pci.ids", "vfio_pci.ids",
            "vfio_iommu_type1.allow_unsafe_interrupts", "intremap",
        ]
        let present = relevant.compactMap { name in facts.parameter(name).map { name + ($0.isEmpty ? "" : "=" + $0) } }
        findings.append(
            Finding("cmdline", .ok, present.isEmpty ? "no IOMMU or VFIO parameters on the kernel command line" : "kernel command line: " + present.joined(separator: " ")))
        if let acs = facts.parameter("pcie_acs_override") {
            findings.append(
                Finding(
                    "acs-override", .warn, "pcie_acs_override=\(acs) splits groups the hardware does not isolate: devices in different groups can still reach each other by DMA",
                    fix: "move the device to a slot whose ports have ACS, and drop pcie_acs_override when you can"))
        }
        if let value = facts.parameter("intremap"), value == "off" || value == "nosid" {
            findings.append(Finding("cmdline-intremap", .warn, "intremap=\(value) weakens interrupt isolation", fix: "remove intremap=\(value)"))
        }
        return findings
    }

    static func vfioModules(_ facts: DoctorFacts) -> Finding {
        if facts.vfioPCIDriverPresent {
            let loaded = facts.loadedModules.sorted().joined(separator: " ")
            return Finding("vfio-modules", .ok, "vfio-pci is loaded" + (loaded.isEmpty ? " (built in)" : " (" + loaded + ")"))
        }
        switch facts.vfioPCIAvailable {
        case true?:
            return Finding("vfio-modules", .ok, "vfio-pci is not loaded yet; 'vfioctl bind' loads it (modprobe vfio-pci)")
        case false?:
            return Finding(
                "vfio-modules", .fail, "vfio-pci is neither loaded nor installed for kernel \(facts.kernelRelease ?? "?")",
                fix: "install the kernel's modules package or build with CONFIG_VFIO_PCI")
        case nil:
            return Finding(
                "vfio-modules", .warn, "vfio-pci is not loaded, and no module list for kernel \(facts.kernelRelease ?? "?") was found to tell whether it can be",
                fix: "modprobe vfio-pci")
        }
    }

    /// Whether the host has an IOMMU of its own (vfio's no-IOMMU groups do not count).
    static func hasIOMMU(_ facts: DoctorFacts) -> Bool { !facts.platform.units.isEmpty || facts.groupCount > 0 }

    /// Without an IOMMU, vfio can still hand devices to userspace in its unsafe no-IOMMU mode
    /// (what DPDK runs on in cloud VMs without a vIOMMU): say whether it is on and what it means.
    /// The parameter exists only with CONFIG_VFIO_NOIOMMU and once vfio is loaded.
    static func noIOMMU(_ facts: DoctorFacts) -> Finding? {
        guard !hasIOMMU(facts) else { return nil }
        let parameter = SysfsPaths.noiommuParameter
        let meaning = "no DMA isolation: a device's userspace driver can read and write all of memory; binding taints the kernel; no VM can use such a device"
        let groups =
            facts.noIOMMUGroups.isEmpty ? "" : " (\(facts.noIOMMUGroups.count == 1 ? "group" : "groups") \(facts.noIOMMUGroups.map(String.init).joined(separator: ", ")) in it)"
        switch facts.noIOMMUMode {
        case true?:
            return Finding(
                "noiommu", .warn, "no IOMMU, and vfio's no-IOMMU mode is on\(groups): 'vfioctl bind' gives devices to vfio-pci with \(meaning)",
                fix: "use it only for trusted userspace drivers (DPDK); 'echo N > \(parameter)' turns it off once no device is bound")
        case false?:
            return Finding(
                "noiommu", .warn,
                "no IOMMU, and vfio's no-IOMMU mode is off (\(parameter) is N): 'vfioctl bind' refuses every device; turning it on would mean \(meaning)",
                fix: "give the machine an IOMMU (or the VM a vIOMMU); only for a trusted userspace driver: echo Y > \(parameter)")
        case nil:
            return Finding(
                "noiommu", .warn,
                "no IOMMU, and vfio's no-IOMMU mode is not available (\(parameter) is missing: vfio is not loaded, or the kernel lacks CONFIG_VFIO_NOIOMMU)",
                fix: "give the machine an IOMMU; no-IOMMU mode (no DMA isolation, taints the kernel) needs 'modprobe vfio enable_unsafe_noiommu_mode=1' on a kernel built with it")
        }
    }

    /// A kernel without the group interface (CONFIG_VFIO_GROUP=n): only programs that use the
    /// device cdev with iommufd can open the devices.
    static func vfioInterfaces(_ facts: DoctorFacts) -> Finding? {
        guard facts.vfioPCIDriverPresent, facts.interfaces.cdevOnly else { return nil }
        return Finding(
            "vfio-interfaces", .warn,
            "this kernel has only the VFIO device cdev (/dev/vfio/devices/vfioX with /dev/iommu), no group nodes /dev/vfio/N: programs that open a group (VFIO's older interface) cannot use the devices",
            fix: "use iommufd (QEMU: -object iommufd,id=fd0 -device vfio-pci,iommufd=fd0,...), or a kernel with CONFIG_VFIO_GROUP=y")
    }

    static func unsafeSwitches(_ facts: DoctorFacts) -> [Finding] {
        var findings: [Finding] = []
        // Without an IOMMU the noiommu finding says it (noIOMMU(_:)).
        if facts.noIOMMUMode == true, hasIOMMU(facts) {
            findings.append(
                Finding(
                    "noiommu", .warn, "vfio noiommu mode is on: devices without a group can be bound with no DMA isolation at all (taints the kernel)",
                    fix: "echo N > /sys/module/vfio/parameters/enable_unsafe_noiommu_mode unless you really mean it"))
        }
        if facts.platform.type1AllowUnsafe == true || facts.platform.iommufdAllowUnsafe == true {
            findings.append(
                Finding(
                    "unsafe-interrupts", .warn, "allow_unsafe_interrupts is on: a device without interrupt remapping can forge MSIs",
                    fix: "set vfio_iommu_type1.allow_unsafe_interrupts=0 when the platform remaps interrupts"))
        }
        return findings
    }

    static func groupShapes(_ facts: DoctorFacts) -> [Finding] {
        guard let inventory = facts.inventory, !inventory.groups.isEmpty else { return [] }
        var findings: [Finding] = []
        // A group holding endpoints from more than one slot means a port above them lacks ACS
        // (functions of one multi-function device may legitimately share).
        var large: [String] = []
        for group in inventory.sortedGroups {
            let endpoints = inventory.members(of: group).filter { !$0.isBridge }
            let slots = Set(endpoints.map { PCIAddress(domain: $0.address.domain, bus: $0.address.bus, device: $0.address.device, function: 0) })
            if slots.count > 1 { large.append("group \(group.id) (\(endpoints.count) endpoints in \(slots.count) slots)") }
        }
        if large.isEmpty {
            findings.append(Finding("group-sizes", .ok, "every group holds one slot's functions at most"))
        } else {
            findings.append(
                Finding(
                    "group-sizes", .warn,
                    "unusually large groups, a sign that the ports above lack ACS or that the devices share a conventional PCI bus: " + large.joined(separator: ", "),
                    fix: "'vfioctl show group:N' shows the ACS of each port; bind the whole group with --group, or use another slot"))
        }
        let bridges = inventory.devices.filter(\.isBridge)
        let blocking = bridges.filter { Viability.state(of: $0).blocks }
        if !blocking.isEmpty {
            findings.append(
                Finding(
                    "bridges", .warn,
                    "bridges on a DMA-API driver make their groups non-viable: " + blocking.map { "\($0.address) (\($0.driver ?? ""))" }.joined(separator: ", "),
                    fix: "unbind them or bind them to pci-stub"))
        } else {
            findings.append(Finding("bridges", .ok, "\(bridges.count) bridges stay on the host (vfio-pci cannot take bridges); none blocks its group"))
        }
        let ungrouped = inventory.devices.filter { $0.iommuGroup == nil }
        if !ungrouped.isEmpty {
            findings.append(
                Finding(
                    "ungrouped", .warn,
                    "\(ungrouped.count) functions have no IOMMU group and cannot use VFIO: " + ungrouped.prefix(8).map(\.address.description).joined(separator: ", "),
                    fix: "these are outside the IOMMU's reach (check firmware DMAR/IVRS tables)"))
        }
        return findings
    }
}
