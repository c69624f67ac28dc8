import VFIOKit

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `cdi` member of `apply --json` and of each watch line.
struct CDIUpdateDocument: Encodable {
    var path: String
    var changed: Bool
    var devices: [String]
    @Nullable var error: String?

    init(_ update: CDIUpdate) {
        path = update.path
        changed = update.changed
        devices = update.devices
        error = update.error?.message
    }
}

/// One line of `apply --watch`: one pass.
struct WatchPassDocument: Encodable {
    var schemaVersion = jsonSchemaVersion
    var pass: Int
    var reason: String
    var time: String
    /// `ok`: the files were read; `last-good`: they did not parse and the last good state was
    /// applied; `none`: they did not parse and there never was a good state (nothing applied).
    var config: String
    @Nullable var configError: String?
    /// Why the pass stopped as a whole (the lock, /sys), if it did.
    @Nullable var error: String?
    var matches: Bool
    var changed: [ApplyDocument.Device]
    var waiting: [ApplyDocument.Device]
    var refused: [ApplyDocument.Device]
    var failed: [ApplyDocument.Device]
    var unchanged: Int
    var unmatched: [ApplyDocument.Unmatched]
    @Nullable var cdi: CDIUpdateDocument?

    init(_ pass: WatchPass, time: String) {
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
    func emitJSONLine(_ value: some Encodable) {
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
    func render(_ pass: WatchPass) {
        console.emitJSONLine(WatchPassDocument(pass, time: Timestamp.now()))
    }
}
