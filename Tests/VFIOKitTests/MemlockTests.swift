import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("doctor: the locked-memory limit of the owners of VFIO nodes")
struct MemlockTests {
    static let limits = """
        # <domain> <type> <item> <value>
        *        soft  memlock  65536
        @kvm     -     memlock  4194304
        dpdk     hard  memlock  unlimited
        bogus    soft  memlock  lots
        *        soft  nofile   4096

        """

    @Test("memlock lines parse with their source; other items and bad values are skipped")
    func parse() {
        let entries = MemlockLimits.parse(Self.limits, file: "limits.conf")
        #expect(entries.map(\.domain) == ["*", "@kvm", "dpdk"])
        #expect(entries.map(\.limit) == [.kibibytes(65536), .kibibytes(4_194_304), .unlimited])
        #expect(entries.map(\.source) == ["limits.conf:2", "limits.conf:3", "limits.conf:4"])
    }

    @Test("a user's own entry beats its group's, which beats the default; hard-only lines do not set the soft limit")
    func effective() {
        let entries = MemlockLimits.parse(Self.limits, file: "limits.conf")
        #expect(MemlockLimits.effective(entries, user: "dpdk", groups: ["kvm"])?.limit == .kibibytes(4_194_304))
        #expect(MemlockLimits.effective(entries, user: "alice", groups: [])?.limit == .kibibytes(65536))
        #expect(MemlockLimits.effective(entries + MemlockLimits.parse("alice - memlock -1\n", file: "d.conf"), user: "alice", groups: [])?.limit == .unlimited)
        #expect(MemlockLimits.effective([], user: "alice", groups: []) == nil)
    }

    func findings(limits: String?) throws -> [Finding] {
        let host = FixtureLayout.desktop.build()
        host.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\ndpdk:x:1001:1001::/:/bin/sh\n")
        host.write("/etc/group", "root:x:0:\nkvm:x:104:dpdk\n")
        if let limits { host.write("/etc/security/limits.d/vfio.conf", limits) }
        let owner = NodeOwner(user: "dpdk", uid: 1001, group: nil, gid: 0)
        try StateStore(root: host.root).record([
            DeviceRecord(
                address: PCIAddress("05:00.0")!, group: 19, originalDriver: "igb", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, owner: owner,
                time: FixtureClock.time)
        ])
        return Doctor.diagnose(DoctorFactsReader(root: host.root).read(inventory: nil)).filter { $0.check == "memlock" }
    }

    @Test("an owner with no memlock entry, or a small one, is a warning with the fix; a large one is ok; no owners, no finding")
    func verdicts() throws {
        let none = try findings(limits: nil)
        #expect(none.map(\.status) == [.warn])
        #expect(none.first?.message.contains("no memlock entry") == true)
        #expect(none.first?.fix?.contains("dpdk - memlock unlimited") == true)
        let small = try findings(limits: "@kvm soft memlock 65536\n")
        #expect(small.map(\.status) == [.warn])
        #expect(small.first?.message.contains("64 MiB (/etc/security/limits.d/vfio.conf:1)") == true)
        let large = try findings(limits: "dpdk - memlock unlimited\n")
        #expect(large.map(\.status) == [.ok])
        let host = FixtureLayout.desktop.build()
        #expect(!Doctor.diagnose(DoctorFactsReader(root: host.root).read(inventory: nil)).contains { $0.check == "memlock" })
    }
}
