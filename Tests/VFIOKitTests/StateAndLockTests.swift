import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

@Suite("State file")
struct StateStoreTests {
    static let record = DeviceRecord(
        address: PCIAddress("0000:01:00.0")!, group: 1, originalDriver: "nouveau", originalOverride: nil, boundDriver: "vfio-pci",
        status: .bound, time: "2026-11-21T15:42:10Z")

    @Test("missing file: empty state; nothing is created by loading")
    func missing() throws {
        let host = FixtureHost()
        let store = StateStore(root: host.root)
        #expect(try store.load() == HostState())
        #expect(!Sysfs.exists(store.path))
    }

    @Test("the documented shape: schemaVersion and per device every key, nulls included")
    func shape() throws {
        let host = FixtureHost()
        let store = StateStore(root: host.root)
        try store.record([Self.record])
        let text = try #require(host.read("/run/vfioctl/state.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["schemaVersion"] as? Int == 1)
        let devices = try #require(json["devices"] as? [[String: Any]])
        #expect(devices.count == 1)
        #expect(Set(devices[0].keys) == ["address", "group", "originalDriver", "originalOverride", "boundDriver", "status", "currentDriver", "owner", "time"])
        #expect(devices[0]["address"] as? String == "0000:01:00.0")
        #expect(devices[0]["originalDriver"] as? String == "nouveau")
        #expect(devices[0]["owner"] is NSNull)
        #expect(devices[0]["originalOverride"] is NSNull)
        #expect(devices[0]["status"] as? String == "bound")
        #expect(devices[0]["time"] as? String == "2026-11-21T15:42:10Z")
        // Atomic replacement leaves no temporary file behind.
        #expect(Sysfs.list(host.path + "/run/vfioctl") == ["state.json"])
    }

    @Test("record, replace and remove")
    func recordRemove() throws {
        let host = FixtureHost()
        let store = StateStore(root: host.root)
        var other = Self.record
        other.address = PCIAddress("0000:00:1f.3")!
        try store.record([Self.record, other])
        #expect(try store.load().devices.map(\.address.description) == ["0000:00:1f.3", "0000:01:00.0"])
        var changed = Self.record
        changed.status = .pending
        try store.record([changed])
        #expect(try store.load()[Self.record.address]?.status == .pending)
        try store.remove([Self.record.address])
        #expect(try store.load().devices.map(\.address) == [other.address])
    }

    @Test("a corrupt or newer file is an error and is left alone", arguments: ["{not json", "{\"schemaVersion\": 9, \"devices\": []}"])
    func corrupt(_ content: String) throws {
        let host = FixtureHost()
        host.write("/run/vfioctl/state.json", content)
        let store = StateStore(root: host.root)
        let error = #expect(throws: VFIOError.self) { try store.load() }
        #expect(error?.exitCode == 1)
        #expect(error?.message.contains("nothing was changed") == true)
        #expect(throws: VFIOError.self) { try store.record([Self.record]) }
        #expect(host.read("/run/vfioctl/state.json") == content)
    }

    @Test("timestamps are UTC RFC 3339", arguments: [(Int64(0), "1970-01-01T00:00:00Z"), (1_795_276_930, "2026-11-21T16:02:10Z")])
    func timestamps(seconds: Int64, text: String) {
        #expect(Timestamp.format(secondsSinceEpoch: seconds) == text)
    }
}

@Suite("Host lock")
struct HostLockTests {
    @Test("a second taker times out (exit 3) naming the holder's pid; released, it is free again")
    func exclusive() throws {
        let host = FixtureHost()
        let first = try HostLock.acquire(root: host.root, timeout: .zero)
        #expect(host.read("/run/vfioctl/lock") == String(getpid()))
        let waited = Box(false)
        let error = #expect(throws: VFIOError.self) {
            _ = try HostLock.acquire(root: host.root, timeout: .milliseconds(50)) { _ in waited.value = true }
        }
        #expect(error?.exitCode == 3)
        #expect(error?.message.contains("pid \(getpid())") == true)
        #expect(waited.value)
        first.release()
        let second = try HostLock.acquire(root: host.root, timeout: .zero)
        second.release()
    }

    @Test("a waiter gets the lock as soon as the holder lets go")
    func queue() throws {
        let host = FixtureHost()
        let first = try HostLock.acquire(root: host.root, timeout: .zero)
        let order = Box<[String]>([])
        let lock = NSLock()
        let waiter = Thread {
            if let second = try? HostLock.acquire(root: host.root, timeout: .seconds(10)) {
                lock.withLock { order.value.append("second acquired") }
                second.release()
            }
        }
        waiter.start()
        usleep(150_000)
        lock.withLock { order.value.append("first releasing") }
        first.release()
        for _ in 0..<500 where lock.withLock({ order.value.count }) < 2 { usleep(10_000) }
        #expect(lock.withLock { order.value } == ["first releasing", "second acquired"])
    }

    @Test("root is required only on the real host", arguments: [("/", UInt32(1000), true), ("/", 0, false), ("/tmp", 1000, false)])
    func privilege(root: String, uid: UInt32, refused: Bool) {
        let error = #expect(
            throws: VFIOError.self,
            performing: {
                try Privilege.requireRoot(for: "bind", root: HostRoot(.init(root)), effectiveUID: uid)
                throw VFIOError.failed("allowed")
            })
        #expect(error?.exitCode == (refused ? 77 : 1))
    }
}
