import VFIOModel

/// Text for `bind`.
package enum BindRendering {
    /// `bind --wait` ran out: who still held the devices (from the wait's last scan, else the
    /// refusal's reasons), and that nothing moved.
    package static func gaveUpMessage(_ refusal: BindRefusal, report: HolderReport?, waited: Duration) -> String {
        let who = report.map(\.summary) ?? refusal.reasons.map(\.message).joined(separator: "; ")
        return "timed out after " + HolderRendering.preciseSeconds(waited) + " waiting for host holders: " + who + "; nothing was changed"
    }

    package static func dryRun(_ plan: BindPlan, root: HostRoot) -> String {
        var out = "# vfioctl bind --dry-run: nothing was changed. The writes a bind would make, in order:\n"
        if plan.isNoOp && plan.owner == nil {
            out += "# nothing to do: " + alreadyBoundText(plan) + "\n"
            return out
        }
        out += "# (first: take \(HostFiles.lock), record the original drivers in \(HostFiles.state))\n"
        for step in plan.steps {
            out += step.shellLine(root: root) + "\n"
        }
        if let owner = plan.owner {
            out += "# and the same chown/chmod of each device's /dev/vfio/devices/vfioX where the kernel makes one\n"
            for address in plan.ownedAddresses {
                out += "# then: write \(root.path(UdevRule(address: address, owner: owner, persistent: plan.persistentRules).path))\n"
            }
        }
        return out
    }

    package static func alreadyBoundText(_ plan: BindPlan) -> String {
        let bound = plan.kept.filter { $0.reason == .alreadyBound }.map(\.address.description)
        if bound.isEmpty { return "no device needs to move" }
        return bound.joined(separator: ", ") + (bound.count == 1 ? " is" : " are") + " already bound to " + plan.request.driver
    }

    /// The node a program opens for group `id` once bound: the group node (`noiommu-N` in
    /// no-IOMMU mode), or on a kernel without the group interface the members' cdevs. nil when
    /// there is none to name.
    package static func groupNode(_ nodes: GroupNodes?) -> String? {
        guard let nodes else { return nil }
        if let node = nodes.bound { return node }
        return nodes.memberCdevs.isEmpty ? nil : nodes.memberCdevs.joined(separator: ", ")
    }

    package static func done(
        _ plan: BindPlan, report: BindReport, inventory: HostInventory, groupNodes: [Int: GroupNodes] = [:], attach: [Int: AttachVerdict] = [:]
    ) -> String {
        var out = ""
        if plan.isNoOp { return alreadyBoundText(plan) + "\n" + ownerText(plan, report: report) }
        for move in plan.moves {
            var line = "bound " + move.address.description + " to " + move.to.driver! + " (was " + (move.from.driver ?? "unbound")
            if move.reason == .groupPeer { line += "; moved with its group" }
            out += line + ")\n"
        }
        for kept in plan.kept where kept.reason == .alreadyBound {
            out += kept.address.description + " was already bound to " + plan.request.driver + "\n"
        }
        for id in plan.groups {
            if groupViableAfter(id, plan: plan, inventory: inventory) {
                out +=
                    "group \(id) is " + AttachRendering.viableText(attach[id])
                    + (groupNode(groupNodes[id]).map { ": " + $0 } ?? "") + "\n"
            }
        }
        return out + ownerText(plan, report: report)
    }

    /// `--owner`: which nodes changed hands, and the rules that keep them so.
    package static func ownerText(_ plan: BindPlan, report: BindReport) -> String {
        guard let owner = plan.owner else { return "" }
        var out = ""
        for node in report.ownedNodes {
            out += "\(node) belongs to \(owner.description), mode \(owner.modeText)\n"
        }
        for rule in report.rules {
            out += "kept across rebinds by \(rule)\n"
        }
        return out
    }

    package static func verbose(_ event: ExecutorEvent, root: HostRoot, console: Console) {
        switch event {
        case .performed(let step):
            console.error("+ " + step.shellLine(root: root))
        case .retrying(let write, let errno, let attempt):
            console.error("vfioctl: \(write.path): \(ErrnoName.name(errno)), retrying (\(attempt))")
        case .rollingBack(let address, let state):
            console.error("vfioctl: rolling back \(address) to \(state)")
        }
    }

    /// For each group that ends viable but that VFIO will not attach safely here, the warning
    /// (the bind itself is right; using the group is what fails).
    package static func attachWarnings(_ plan: BindPlan, inventory: HostInventory, attach: [Int: AttachVerdict]) -> [String] {
        plan.groups.filter { groupViableAfter($0, plan: plan, inventory: inventory) }.compactMap { AttachRendering.warning(group: $0, attach[$0]) }
    }

    /// Whether group `id` is viable once the plan has run.
    package static func groupViableAfter(_ id: Int, plan: BindPlan, inventory: HostInventory) -> Bool {
        guard let group = inventory.groups[id] else { return true }
        let moving = Set(plan.moves.map(\.address))
        return !inventory.members(of: group).contains { !moving.contains($0.address) && Viability.state(of: $0).blocks }
    }
}
