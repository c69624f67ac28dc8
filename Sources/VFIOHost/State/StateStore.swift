import VFIOModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `/run/vfioctl/state.json` under the root prefix: the original driver and override of every
/// device vfioctl moved, so `unbind` and `restore` can give it back. `/run` is a tmpfs, so the
/// file lives exactly as long as the drivers it describes (a reboot resets both).
///
/// Every save is atomic and durable: a temporary file in the same directory, written, fsynced,
/// renamed over the old one, then the directory fsynced — so a crash leaves either the old or
/// the new file, never a torn one. Callers hold `HostLock` around load-modify-save. Reading is here;
/// writing is `StateStore+Write.swift` in the writers.
public struct StateStore: Sendable {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public var directory: String { root.run }
    public var path: String { root.run + "/state.json" }
    /// The path as the host sees it, for messages.
    public static let hostPath = HostFiles.state

    /// The state; an empty one when the file does not exist.
    /// - Throws: `.failed` when the file exists but cannot be read or parsed (it is never
    ///   overwritten then: it may be the only record of where devices came from).
    public func load() throws(VFIOError) -> HostState {
        guard Sysfs.exists(path) else { return HostState() }
        guard let bytes = Sysfs.readBytes(path, limit: 16 << 20) else {
            throw .failed("cannot read \(Self.hostPath); nothing was changed")
        }
        do {
            let state = try JSONDecoder().decode(HostState.self, from: Data(bytes))
            guard state.schemaVersion <= HostState.currentSchemaVersion else {
                throw VFIOError.failed(
                    "\(Self.hostPath) has schemaVersion \(state.schemaVersion), newer than this vfioctl understands (\(HostState.currentSchemaVersion)); nothing was changed")
            }
            return state
        } catch let error as VFIOError {
            throw error
        } catch {
            throw .failed("\(Self.hostPath) is corrupt (\(error)); move it aside after checking it; nothing was changed")
        }
    }
}
