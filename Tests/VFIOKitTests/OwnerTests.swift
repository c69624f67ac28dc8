import Foundation
import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

@Suite("bind --owner: user and group resolution, udev rules, planning")
struct OwnerTests {
    static let passwd = """
        root:x:0:0:root:/root:/bin/bash
        # a comment
        daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
        +nis
        broken line
        dpdk:x:1001:1001::/home/dpdk:/bin/sh
        nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

        """
    static let group = """
        root:x:0:
        kvm:x:104:dpdk
        dpdk:x:1001:
        nogroup:x:65534:

        """
    let db = UserDatabase.parse(passwd: passwd, group: group)

    @Test("the passwd and group files parse, skipping comments, NIS and malformed lines")
    func parse() {
        #expect(db.users.map(\.name) == ["root", "daemon", "dpdk", "nobody"])
        #expect(db.users.map(\.uid) == [0, 1, 1001, 65534])
        #expect(db.groups.map(\.name) == ["root", "kvm", "dpdk", "nogroup"])
        #expect(db.groups.first { $0.name == "kvm" }?.gid == 104)
    }

    struct Resolution: Sendable, CustomTestStringConvertible {
        var spec: String
        var user: String
        var uid: UInt32
        var group: String?
        var gid: UInt32
        var mode: UInt32
        var testDescription: String { spec }
    }

    @Test(
        "names and numeric ids resolve; a user alone is mode 0600 with group root, a group makes it 0660",
        arguments: [
            Resolution(spec: "nobody", user: "nobody", uid: 65534, group: nil, gid: 0, mode: 0o600),
            Resolution(spec: "65534", user: "nobody", uid: 65534, group: nil, gid: 0, mode: 0o600),
            Resolution(spec: "4242", user: "4242", uid: 4242, group: nil, gid: 0, mode: 0o600),
            Resolution(spec: "dpdk:kvm", user: "dpdk", uid: 1001, group: "kvm", gid: 104, mode: 0o660),
            Resolution(spec: "dpdk:104", user: "dpdk", uid: 1001, group: "kvm", gid: 104, mode: 0o660),
            Resolution(spec: "1001:5000", user: "dpdk", uid: 1001, group: "5000", gid: 5000, mode: 0o660),
            Resolution(spec: "daemon:root", user: "daemon", uid: 1, group: "root", gid: 0, mode: 0o660),
        ])
    func resolves(_ r: Resolution) throws {
        let owner = try db.resolve(try OwnerSpec.parse(r.spec))
        #expect(owner.user == r.user)
        #expect(owner.uid == r.uid)
        #expect(owner.group == r.group)
        #expect(owner.gid == r.gid)
        #expect(owner.mode == r.mode)
    }

    @Test(
        "unknown users and groups, and root, are usage errors naming what is wrong",
        arguments: [
            ("alice", "unknown user 'alice': not in /etc/passwd"),
            ("dpdk:wheel", "unknown group 'wheel': not in /etc/group"),
            ("root", "--owner root is root, who owns the VFIO nodes already: nothing to do"),
            ("0", "--owner 0 is root, who owns the VFIO nodes already: nothing to do"),
            ("root:kvm", "--owner root:kvm is root, who owns the VFIO nodes already: nothing to do"),
        ])
    func refusals(_ spec: String, _ reason: String) throws {
        let error = #expect(throws: VFIOError.self) { try db.resolve(try OwnerSpec.parse(spec)) }
        #expect(error?.kind == .usage)
        #expect(error?.reason == reason)
        #expect(error?.target == "--owner")
        #expect(error?.exitCode == 64)
    }

    @Test("malformed --owner values are usage errors", arguments: ["", ":", "a:", ":b", "a:b:c", "a b", "../x", "a\nb"])
    func malformed(_ text: String) {
        let error = #expect(throws: VFIOError.self) { try OwnerSpec.parse(text) }
        #expect(error?.kind == .usage)
        #expect(error?.message.contains("\n") == false)
    }

    @Test("the rule matches the group node by membership and the cdev by the PCI address, never all of /dev/vfio")
    func rule() throws {
        let address = try #require(PCIAddress("0000:01:00.0"))
        let owner = try db.resolve(OwnerSpec(user: "dpdk", group: "kvm"))
        let runtime = UdevRule(address: address, owner: owner, persistent: false)
        #expect(runtime.path == "/run/udev/rules.d/70-vfioctl-0000-01-00.0.rules")
        #expect(UdevRule(address: address, owner: owner, persistent: true).path == "/etc/udev/rules.d/70-vfioctl-0000-01-00.0.rules")
        let lines = runtime.text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
        #expect(
            lines == [
                #"ACTION=="add|change", SUBSYSTEM=="vfio", KERNEL=="[0-9]*", TEST=="/sys/kernel/iommu_groups/$kernel/devices/0000:01:00.0", TEST=="/run/udev/rules.d/70-vfioctl-0000-01-00.0.rules", OWNER="1001", GROUP="104", MODE="0660""#,
                #"ACTION=="add|change", SUBSYSTEM=="vfio-dev", KERNELS=="0000:01:00.0", TEST=="/run/udev/rules.d/70-vfioctl-0000-01-00.0.rules", OWNER="1001", GROUP="104", MODE="0660""#,
            ])
        #expect(!runtime.text.contains("vfio/*"))
        #expect(!runtime.text.contains(#"KERNEL=="vfio""#))
    }

    @Test("the rule store writes and removes only vfioctl's own file")
    func ruleStore() throws {
        let host = FixtureLayout.desktop.build()
        let address = try #require(PCIAddress("0000:05:00.0"))
        host.write("/run/udev/rules.d/60-other.rules", "# someone else's\n")
        let store = UdevRuleStore(root: host.root)
        try store.write(UdevRule(address: address, owner: try db.resolve(OwnerSpec(user: "nobody")), persistent: false))
        #expect(store.exists(address, persistent: false))
        #expect(!store.exists(address, persistent: true))
        #expect(host.read("/run/udev/rules.d/70-vfioctl-0000-05-00.0.rules")?.contains(#"OWNER="65534", GROUP="0", MODE="0600""#) == true)
        #expect(try store.remove(address) == ["/run/udev/rules.d/70-vfioctl-0000-05-00.0.rules"])
        #expect(try store.remove(address) == [])
        #expect(Sysfs.list(host.path + "/run/udev/rules.d") == ["60-other.rules"])
    }

    @Test("removing a rule that was never written is no error, whatever stands where its directory would be")
    func ruleStoreRemovesNothingQuietly() throws {
        let host = FixtureLayout.desktop.build()
        let address = try #require(PCIAddress("0000:05:00.0"))
        // /etc/udev is a file here, so the persistent rule's path cannot exist (ENOTDIR, as
        // unlink on a read-only /etc gives EROFS for a name that is not there).
        host.write("/etc/udev", "not a directory\n")
        let store = UdevRuleStore(root: host.root)
        try store.write(UdevRule(address: address, owner: try db.resolve(OwnerSpec(user: "nobody")), persistent: false))
        #expect(try store.remove(address) == ["/run/udev/rules.d/70-vfioctl-0000-05-00.0.rules"])
        #expect(try store.remove(address, persistent: true) == [])
        #expect(host.read("/etc/udev") == "not a directory")
    }

    @Test("a group whose recorded device has another owner conflicts; the same owner, none, or the device itself do not")
    func conflicts() throws {
        let nobody = try db.resolve(OwnerSpec(user: "nobody"))
        let dpdk = try db.resolve(OwnerSpec(user: "dpdk"))
        let a = try #require(PCIAddress("0000:08:00.0"))
        let b = try #require(PCIAddress("0000:08:01.0"))
        let c = try #require(PCIAddress("0000:05:00.0"))
        let state = HostState(devices: [
            DeviceRecord(
                address: a, group: 25, originalDriver: "firewire_ohci", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, owner: nobody, time: FixtureClock.time),
            DeviceRecord(address: c, group: 19, originalDriver: "igb", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: FixtureClock.time),
        ])
        let refused = OwnershipPlanner.conflicts(owner: dpdk, groups: [25], addresses: [b], state: state)
        #expect(refused.map(\.kind) == [.ownerConflict])
        #expect(refused.first?.address == a)
        #expect(refused.first?.line == "group 25 is owned by nobody for 0000:08:00.0, so its node cannot be given to dpdk; bind with --owner nobody, or unbind 0000:08:00.0 first")
        #expect(OwnershipPlanner.conflicts(owner: nobody, groups: [25], addresses: [b], state: state).isEmpty)
        #expect(OwnershipPlanner.conflicts(owner: dpdk, groups: [25], addresses: [a, b], state: state).isEmpty)
        #expect(OwnershipPlanner.conflicts(owner: dpdk, groups: [19], addresses: [], state: state).isEmpty)
    }

    @Test("a group node goes back to root only when no device left in the group has an owner")
    func reset() throws {
        let nobody = try db.resolve(OwnerSpec(user: "nobody"))
        let a = try #require(PCIAddress("0000:08:00.0"))
        let b = try #require(PCIAddress("0000:08:01.0"))
        let record = { (address: PCIAddress, owner: NodeOwner?) in
            DeviceRecord(address: address, group: 25, originalDriver: nil, originalOverride: nil, boundDriver: "vfio-pci", status: .bound, owner: owner, time: FixtureClock.time)
        }
        #expect(OwnershipPlanner.groupsToReset(released: [record(a, nobody)], remaining: HostState(devices: [record(b, nobody)])) == [])
        #expect(OwnershipPlanner.groupsToReset(released: [record(a, nobody)], remaining: HostState(devices: [record(b, nil)])) == [25])
        #expect(OwnershipPlanner.groupsToReset(released: [record(a, nil)], remaining: HostState()) == [])
        #expect(
            OwnershipPlanner.resetSteps(nodes: ["/dev/vfio/25"]) == [
                .setOwner(path: "/dev/vfio/25", uid: 0, gid: 0), .setMode(path: "/dev/vfio/25", mode: 0o600),
            ])
        #expect(OperationStep.setMode(path: "/dev/vfio/25", mode: 0o660).shellLine(root: HostRoot()) == "chmod 0660 /dev/vfio/25")
        #expect(OperationStep.setOwner(path: "/dev/vfio/25", uid: 1001, gid: 104).shellLine(root: HostRoot()) == "chown 1001:104 /dev/vfio/25")
    }

    @Test("the state file keeps the owner, writes null without one, and still loads a file from before owners")
    func stateFile() throws {
        let host = FixtureLayout.desktop.build()
        let store = StateStore(root: host.root)
        let address = try #require(PCIAddress("0000:05:00.0"))
        let owner = try db.resolve(OwnerSpec(user: "dpdk", group: "kvm"))
        try store.record([
            DeviceRecord(address: address, group: 19, originalDriver: "igb", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, owner: owner, time: FixtureClock.time)
        ])
        #expect(try store.load()[address]?.owner == owner)
        let text = try #require(host.read("/run/vfioctl/state.json"))
        #expect(text.contains(#""owner" : {"#) && text.contains(#""mode" : 432"#))
        try store.record([DeviceRecord(address: address, group: 19, originalDriver: "igb", originalOverride: nil, boundDriver: "vfio-pci", status: .bound, time: FixtureClock.time)]
        )
        #expect(host.read("/run/vfioctl/state.json")?.contains(#""owner" : null"#) == true)
        host.write(
            "/run/vfioctl/state.json",
            #"{"schemaVersion":1,"devices":[{"address":"0000:05:00.0","group":19,"originalDriver":"igb","originalOverride":null,"boundDriver":"vfio-pci","status":"bound","currentDriver":null,"time":"2026-11-21T15:42:10Z"}]}"#
        )
        let old = try store.load()[address]
        #expect(old?.owner == nil)
        #expect(old?.originalDriver == "igb")
    }
}
