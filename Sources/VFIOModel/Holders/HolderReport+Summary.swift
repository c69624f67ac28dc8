/// One-line descriptions of who holds what, for messages that carry them (a refusal, a
/// time-out). Command lines and paths are untrusted and go through `UntrustedText`.
extension HolderReport {
    /// `0000:01:00.0 is held by pid 4242 (qemu-system-x86) through /dev/vfio/12; …`
    public var summary: String {
        var parts: [String] = []
        for status in targets where !status.state.isFree {
            let address = status.target.address.description
            switch status.state {
            case .held, .hostHeld:
                let who = status.holders.prefix(3).map { pid -> String in
                    let via = holder(pid).flatMap(\.mainHandle)?.path
                    return label(of: pid) + (via.map { " through " + UntrustedText.printable($0, limit: 128) } ?? "")
                }
                let more = status.holders.count > 3 ? " and " + String(status.holders.count - 3) + " more" : ""
                parts.append(address + (status.state == .hostHeld ? " is in use on the host by " : " is held by ") + who.joined(separator: ", ") + more)
            case .openUnattributed:
                let likely = likelyHolders.prefix(3).map(\.printableLabel).joined(separator: ", ")
                parts.append(
                    address + " is open but no process can be tied to it" + (likely.isEmpty ? " (holder not visible here)" : "; likely " + likely))
            default:
                break
            }
        }
        return parts.joined(separator: "; ")
    }

    /// `pid 4242 (qemu-system-x86)`, or `pid 4242` when the scan has no details.
    public func label(of pid: Int32) -> String {
        holder(pid)?.printableLabel ?? "pid " + String(pid)
    }
}

extension HolderProcess {
    /// `pid 4242 (qemu-system-x86)`, with the command made safe to print.
    public var printableLabel: String {
        "pid " + String(pid) + (command.map { " (" + UntrustedText.printable($0, limit: 64) + ")" } ?? "")
    }

    /// The handle that best says how a process holds: the group node a user recognises, then the
    /// cdev, a named device fd, a mapping; never the container alone.
    public var mainHandle: HeldHandle? {
        let order: [HandleKind] = [.group, .cdev, .device, .mapping, .hostNode]
        return handles.filter { $0.kind != .container }.min { a, b in
            (order.firstIndex(of: a.kind) ?? 9, a.device == nil ? 1 : 0) < (order.firstIndex(of: b.kind) ?? 9, b.device == nil ? 1 : 0)
        }
    }
}

extension HolderReport {
    /// The part of a scan of several devices that concerns one: its status, its holders and,
    /// if it is open without a named holder, the likely ones. nil when it was not scanned.
    public func restricted(to address: PCIAddress) -> HolderReport? {
        guard let status = targets.first(where: { $0.target.address == address }) else { return nil }
        let pids = Set(status.holders)
        return HolderReport(
            targets: [status], holders: holders.filter { pids.contains($0.pid) },
            likelyHolders: status.state == .openUnattributed ? likelyHolders : [], stats: stats)
    }

    /// Whether a scan can say anything about this device: it is reachable through VFIO, or it
    /// is on its host driver and has host nodes.
    public func covers(_ address: PCIAddress) -> Bool {
        guard let target = targets.first(where: { $0.target.address == address })?.target else { return false }
        return target.reachableThroughVFIO || !target.hostNodes.isEmpty
    }
}
