import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Text for `holders` and `wait`: reports, one-line summaries and the live status line. Pure:
/// the current time is passed in.
package enum HolderRendering {
    // MARK: - holders

    package static func report(_ report: HolderReport, now: Int64, verbose: Bool, color: Bool) -> String {
        var out = ""
        for status in report.targets { out += targetLine(status, report: report, color: color) }
        if !report.holders.isEmpty {
            out += "\n"
            out += report.holders.map { process($0, now: now, color: color) }.joined(separator: "\n")
        }
        if !report.likelyHolders.isEmpty {
            out += "\nLikely holders: they have VFIO device fds or mappings whose device the kernel does not name (before Linux 6.18):\n"
            out += report.likelyHolders.map { process($0, now: now, color: color) }.joined(separator: "\n")
        }
        let stats = report.stats
        if stats.unreadable > 0 {
            out +=
                "\nnote: " + plural(stats.unreadable, "process", "processes") + " could not be read (permission denied): pid "
                + stats.unreadablePids.map { String($0) }.joined(separator: ", ") + (stats.unreadable > stats.unreadablePids.count ? ", …" : "") + "\n"
        }
        if verbose {
            out +=
                "\nscanned " + plural(stats.processes, "process", "processes") + " (" + String(stats.vanished) + " exited during the scan, "
                + String(stats.unreadable) + " unreadable), read " + plural(stats.mapsRead, "maps file", "maps files") + "\n"
        }
        return out
    }

    package static func targetLine(_ status: TargetStatus, report: HolderReport, color: Bool) -> String {
        let t = status.target
        var line = Paint.bold(t.address.description, color) + "  " + (t.driver ?? "no driver")
        if let group = t.group { line += "  group " + String(group) }
        line += "  "
        switch status.state {
        case .gone:
            return t.address.description + "  removed from the bus\n"
        case .notVFIO where t.hostNodes.isEmpty:
            return line + "not bound to a VFIO driver: nothing can hold it through VFIO\n"
        case .notVFIO:
            line += "on its host driver, " + Paint.green("no process has its nodes open", color)
        case .free:
            line += Paint.green("free", color)
        case .held:
            line += Paint.red("held", color) + " by " + status.holders.map { report.label(of: $0) }.joined(separator: ", ")
        case .hostHeld:
            line += Paint.red("in use on the host", color) + " by " + status.holders.map { report.label(of: $0) }.joined(separator: ", ")
        case .openUnattributed:
            line +=
                Paint.red("open", color) + ", but no fd names it: "
                + (report.likelyHolders.isEmpty
                    ? "the holder is not visible here (another PID namespace, an fd in flight, or a process that cannot be read)"
                    : "see the likely holders below")
        }
        line += "\n"
        var facts: [String] = []
        if t.vfioBound { facts.append(status.open ? "device open (enable " + String(t.enableCount ?? 1) + ")" : "device not open") }
        if let node = t.groupNode { facts.append(node.path) }
        if let node = t.deviceNode { facts.append(node.path) }
        if !t.hostNodes.isEmpty { facts.append("host nodes " + t.hostNodes.map { UntrustedText.printable($0.path, limit: 128) }.joined(separator: " ")) }
        if !facts.isEmpty { line += "  " + facts.joined(separator: ", ") + "\n" }
        return line
    }

    package static func process(_ p: HolderProcess, now: Int64, color: Bool) -> String {
        var head = Paint.bold("pid " + String(p.pid), color) + "  " + UntrustedText.printable(p.command ?? "?", limit: 64)
        if let vm = p.vmName { head += "  vm " + UntrustedText.printable(vm, limit: 64) }
        if let started = p.startedAt { head += "  up " + span(max(0, now - started)) }
        if let unit = p.unit {
            head += "  " + UntrustedText.printable(unit, limit: 128)
        } else if let cgroup = p.cgroup, cgroup != "/" {
            head += "  cgroup " + UntrustedText.printable(cgroup, limit: 128)
        }
        var out = head + "\n"
        if let args = p.commandLine, !args.isEmpty {
            out += "  " + UntrustedText.printable(args.joined(separator: " "), limit: 200) + "\n"
        }
        for handle in p.handles {
            var row = "  " + (handle.fd.map { "fd " + pad(String($0), 5) } ?? "map     ") + " " + pad(handle.kind.rawValue, 10) + UntrustedText.printable(handle.path, limit: 256)
            if let device = handle.device, handle.kind != .cdev || !handle.path.hasSuffix(device.description) { row += "  " + device.description }
            if handle.isUnattributedDevice { row += "  (device not named by this kernel)" }
            if let range = handle.range { row += "  " + range }
            out += row + "\n"
        }
        return out
    }

    // MARK: - wait

    /// The live line: `waiting for pid 4242 (qemu-system-x86) holding /dev/vfio/12, 3 s of 30 s`.
    package static func progressLine(_ progress: WaitProgress) -> String {
        let report = progress.report
        var what: String
        if let first = report.holders.first {
            what = first.printableLabel
            if let handle = first.mainHandle { what += " holding " + UntrustedText.printable(handle.path, limit: 128) }
            let others = report.holders.count - 1
            if others > 0 { what += " (+" + plural(others, "other", "others") + ")" }
        } else if let open = report.targets.first(where: { $0.state == .openUnattributed }) {
            what =
                open.target.address.description + " (open; "
                + (report.likelyHolders.first.map { "likely " + $0.printableLabel } ?? "holder not visible") + ")"
        } else {
            what = "the targets to be released"
        }
        let limit = progress.timeout.components.attoseconds == 0 ? seconds(progress.timeout) : preciseSeconds(progress.timeout)
        return "waiting for " + what + ", " + seconds(progress.elapsed) + " of " + limit
    }

    // MARK: - Small formatters

    /// Whole seconds, as a human counts a wait: `3 s`.
    package static func seconds(_ d: Duration) -> String {
        String(d.components.seconds) + " s"
    }

    /// A duration in seconds, with tenths under a minute: `1.2 s`, `95 s`.
    package static func preciseSeconds(_ d: Duration) -> String {
        let ms = d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000
        if ms >= 60_000 { return String(ms / 1000) + " s" }
        return String(ms / 1000) + "." + String((ms % 1000) / 100) + " s"
    }

    /// `45s`, `3m12s`, `2h05m`, `3d04h`.
    package static func span(_ seconds: Int64) -> String {
        func two(_ n: Int64) -> String { n < 10 ? "0" + String(n) : String(n) }
        if seconds < 60 { return String(seconds) + "s" }
        if seconds < 3600 { return String(seconds / 60) + "m" + two(seconds % 60) + "s" }
        if seconds < 86400 { return String(seconds / 3600) + "h" + two(seconds % 3600 / 60) + "m" }
        return String(seconds / 86400) + "d" + two(seconds % 86400 / 3600) + "h"
    }

    /// `2025-11-21T15:35:02Z`
    package static func timestamp(_ epoch: Int64) -> String {
        var t = time_t(epoch)
        var parts = tm()
        guard gmtime_r(&t, &parts) != nil else { return String(epoch) }
        func two(_ n: Int32) -> String { n < 10 ? "0" + String(n) : String(n) }
        return String(parts.tm_year + 1900) + "-" + two(parts.tm_mon + 1) + "-" + two(parts.tm_mday) + "T" + two(parts.tm_hour) + ":"
            + two(parts.tm_min) + ":" + two(parts.tm_sec) + "Z"
    }

    package static func plural(_ n: Int, _ one: String, _ many: String) -> String {
        String(n) + " " + (n == 1 ? one : many)
    }

    package static func pad(_ s: String, _ width: Int) -> String {
        s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count)
    }

}

// MARK: - The renderer

extension Renderer {
    /// `holders`: who holds what.
    /// `domains`: the VM each recorded device was bound for (`vfioctl hook`), said in text.
    package func render(_ view: HoldersView, now: Int64) -> ExitStatus {
        render(view.report, now: now, domains: view.domains)
    }

    package func render(_ report: HolderReport, now: Int64, domains: [PCIAddress: String] = [:]) -> ExitStatus {
        if mode == .json {
            console.emitJSON(HoldersDocument(report: report, now: now))
        } else if isText {
            var text = HolderRendering.report(report, now: now, verbose: verbose, color: color)
            for target in report.targets {
                guard let domain = domains[target.target.address] else { continue }
                text += target.target.address.description + " is bound for domain " + UntrustedText.printable(domain) + "\n"
            }
            console.write(text)
        }
        return .success
    }

    /// `wait`: free (exit 0), or timed out with who still holds (exit 3).
    package func render(_ view: WaitView, now: Int64) throws(VFIOError) -> ExitStatus {
        try render(view.outcome, addresses: view.addresses, timeout: view.timeout, now: now)
    }

    package func render(_ outcome: WaitOutcome, addresses: [PCIAddress], timeout: Duration, now: Int64) throws(VFIOError) -> ExitStatus {
        if mode == .json { console.emitJSON(WaitDocument(outcome: outcome, timeout: timeout, now: now)) }
        if outcome.isFree {
            guard isText else { return .success }
            let names = addresses.map(\.description).joined(separator: ", ")
            let waited = outcome.scans > 1 ? " (after " + HolderRendering.preciseSeconds(outcome.waited) + ")" : ""
            console.line(names + (addresses.count == 1 ? " is free" : " are free") + waited)
            if verbose {
                var line = HolderRendering.plural(outcome.scans, "scan", "scans") + ", the last one after a " + outcome.decidedBy.rawValue
                if let freedBy = outcome.freedBy, freedBy != outcome.decidedBy { line += "; first seen free after a " + freedBy.rawValue }
                console.line(line)
            }
            return .success
        }
        let message = "timed out after " + HolderRendering.preciseSeconds(outcome.waited) + ": " + outcome.report.summary
        guard mode == .json else { throw .timedOut(message) }
        // The document above already says why; the exit status and one line say it too.
        console.error("vfioctl: " + message)
        return .timedOut
    }
}
