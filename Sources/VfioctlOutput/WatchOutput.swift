import VFIOModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `cdi` member of `apply --json` and of each watch line.
package struct CDIUpdateDocument: Encodable {
    package var path: String
    package var changed: Bool
    package var devices: [String]
    @Nullable package var error: String?

    package init(_ update: CDIUpdate) {
        path = update.path
        changed = update.changed
        devices = update.devices
        error = update.error?.message
    }
}

/// One line of `apply --watch`: one pass.
package struct WatchPassDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    package var pass: Int
    package var reason: String
    package var time: String
    /// `ok`: the files were read; `last-good`: they did not parse and the last good state was
    /// applied; `none`: they did not parse and there never was a good state (nothing applied).
    package var config: String
    @Nullable package var configError: String?
    /// Why the pass stopped as a whole (the lock, /sys), if it did.
    @Nullable package var error: String?
    package var matches: Bool
    package var changed: [ApplyDocument.Device]
    package var waiting: [ApplyDocument.Device]
    package var refused: [ApplyDocument.Device]
    package var failed: [ApplyDocument.Device]
    package var unchanged: Int
    package var unmatched: [ApplyDocument.Unmatched]
    @Nullable package var cdi: CDIUpdateDocument?

    package init(_ pass: WatchPass, time: String) {
        self.pass = pass.number
        reason = pass.reason.rawValue
        self.time = time
        config = pass.configError == nil ? "ok" : pass.usedLastGood ? "last-good" : "none"
        configError = pass.configError?.message
        error = pass.error?.message
        let entries = pass.outcome?.entries ?? []
        func devices(_ statuses: Set<ApplyOutcome.Status>) -> [ApplyDocument.Device] {
            entries.filter { statuses.contains($0.status) }.map(ApplyDocument.Device.init)
        }
        matches = pass.configError == nil && pass.error == nil && (pass.outcome?.matches ?? false)
        changed = devices([.changed])
        waiting = devices([.timeout])
        refused = devices([.refused])
        failed = devices([.failed, .planned])
        unchanged = entries.filter { $0.status == .unchanged }.count
        unmatched = pass.outcome?.unmatched.map { ApplyDocument.Unmatched(source: $0.source, reason: $0.reason) } ?? []
        cdi = pass.outcome?.cdi.map(CDIUpdateDocument.init)
    }
}

extension Console {
    /// One compact JSON document on one line, written out at once (a log collector reads the
    /// lines as they come).
    package func emitJSONLine(_ value: some Encodable) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            error("vfioctl: internal error: cannot encode JSON")
            return
        }
        write(String(decoding: data, as: UTF8.self) + "\n")
        flush()
    }
}

extension Renderer {
    /// A watch pass is always a JSON line, whatever the mode: the agent's output is for machines.
    package func render(_ pass: WatchPass) {
        console.emitJSONLine(WatchPassDocument(pass, time: pass.time))
    }
}
