import VFIOHost
import VFIOModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension StateStore {
    /// Replaces the file atomically.
    public func save(_ state: HostState) throws(VFIOError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do { data = try encoder.encode(state) } catch { throw .failed("cannot encode the state file: \(error)") }
        try AtomicFile.write(Array(data) + [UInt8(ascii: "\n")], to: path, directory: directory, mode: 0o644)
    }

    /// Loads, lets `body` change the state, and saves it.
    @discardableResult
    public func update(_ body: (inout HostState) -> Void) throws(VFIOError) -> HostState {
        var state = try load()
        body(&state)
        try save(state)
        return state
    }

    /// Adds or replaces records.
    public func record(_ records: [DeviceRecord]) throws(VFIOError) {
        try update { state in
            for record in records { state.upsert(record) }
        }
    }

    /// Forgets devices.
    public func remove(_ addresses: [PCIAddress]) throws(VFIOError) {
        try update { state in
            for address in addresses { state.remove(address) }
        }
    }
}
