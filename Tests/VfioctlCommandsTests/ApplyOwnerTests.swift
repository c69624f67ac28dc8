import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

#if canImport(Glibc)
import Glibc
#endif

@Suite("vfioctl apply with owner =")
struct ApplyOwnerTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel
    static let rule = "/etc/udev/rules.d/70-vfioctl-0000-05-00.0.rules"

    init() {
        kernel = SimulatedKernel(host: host)
        host.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\ndpdk:x:1001:1001::/:/bin/sh\n")
        host.write("/etc/group", "root:x:0:\nkvm:x:104:\n")
    }

    func statuses(_ run: Run) throws -> [String: String] {
        let devices = try #require(try run.json()["devices"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: devices.map { ($0["address"] as! String, $0["status"] as! String) })
    }

    func node(_ hostPath: String) -> String? {
        var info = stat()
        guard lstat(host.path + hostPath, &info) == 0 else { return nil }
        return "\(info.st_uid):\(info.st_gid) " + String(UInt32(info.st_mode) & 0o7777, radix: 8)
    }

    func conf(_ owner: String?) {
        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\n" + (owner.map { "owner = \($0)\n" } ?? ""))
    }

    @Test("owner = binds and gives the nodes to the owner with a persistent rule; a second run changes nothing; released, the rule goes")
    func applyOwner() throws {
        conf("dpdk:kvm")
        let first = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(try statuses(first)["0000:05:00.0"] == "changed")
        #expect(node("/dev/vfio/19") == "1001:104 660")
        #expect(host.read(Self.rule)?.contains(#"OWNER="1001", GROUP="104", MODE="0660""#) == true)
        #expect(host.read("/run/udev/rules.d/70-vfioctl-0000-05-00.0.rules") == nil)

        let changes = kernel.nodeChanges.count
        let second = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(second.status == 0)
        #expect(try statuses(second)["0000:05:00.0"] == "unchanged")
        #expect(kernel.nodeChanges.count == changes)

        // The node went back to root behind vfioctl's back: the next run owns it again.
        chown(host.path + "/dev/vfio/19", 0, 0)
        let third = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(try statuses(third)["0000:05:00.0"] == "changed")
        #expect(node("/dev/vfio/19") == "1001:104 660")

        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = host\n")
        let release = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(release.status == 0, "\(release.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(host.read(Self.rule) == nil)
    }

    @Test("a bad owner = names its file and line (exit 64); an unknown user is a usage error and nothing changes")
    func badOwner() throws {
        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\nowner = a:b:c\n")
        let bad = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("/etc/vfioctl.conf:3"), "\(bad.stderr)")
        conf("alice")
        let unknown = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("unknown user 'alice'"), "\(unknown.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(kernel.writes.isEmpty)
    }
}
