import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

@Suite("vfioctl apply")
struct ApplyCommandTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() { kernel = SimulatedKernel(host: host) }

    func driver(_ address: String) -> String? { host.driver(address) }

    func results(_ run: Run) throws -> [String: [String: Any]] {
        let json = try run.json()
        let devices = try #require(json["devices"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: devices.map { ($0["address"] as! String, $0) })
    }

    @Test("from an empty state: binds what the file names, group members together; a second run changes nothing")
    func applyAndReapply() throws {
        host.write(
            "/etc/vfioctl.conf",
            """
            # The GPU is the boot display: only with force.
            [device 0000:01:00.0]
            driver = vfio-pci
            force = yes
            [device 0000:01:00.1]
            driver = vfio-pci
            force = yes
            [ids 8086:1533]
            driver = vfio-pci
            count = 1
            """)
        let first = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(first.status == 0, "\(first.stderr)")
        let r1 = try results(first)
        #expect(r1["0000:01:00.0"]?["status"] as? String == "changed")
        #expect(r1["0000:01:00.1"]?["status"] as? String == "changed")
        #expect(r1["0000:05:00.0"]?["status"] as? String == "changed")
        #expect(r1["0000:06:00.0"] == nil)
        #expect(try first.json()["matches"] as? Bool == true)
        #expect(driver("01:00.0") == "vfio-pci" && driver("01:00.1") == "vfio-pci" && driver("05:00.0") == "vfio-pci")
        #expect(driver("06:00.0") == "igb")
        // The state file remembers where they came from.
        let state = try #require(host.read("/run/vfioctl/state.json"))
        #expect(state.contains("nouveau") && state.contains("snd_hda_intel") && state.contains("igb"))

        let writes = kernel.writes.count
        let second = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(second.status == 0)
        #expect(try results(second).values.allSatisfy { $0["status"] as? String == "unchanged" })
        #expect(kernel.writes.count == writes, "a second apply wrote to sysfs")
    }

    @Test("an entry that cannot be satisfied is refused and reported; the others are applied; exit 2")
    func partial() throws {
        let file = host.path + "/desired.conf"
        try """
        [device 0000:01:00.0]
        driver = vfio-pci
        force = yes
        [device 0000:00:1f.3]
        driver = vfio-pci
        [device 0000:7f:00.0]
        driver = vfio-pci
        """.write(toFile: file, atomically: false, encoding: .utf8)
        let run = vfioctl(["apply", file], host: host, kernel: kernel)
        #expect(run.status == 2, "\(run.stdout)\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        // The GPU alone would leave group 1 non-viable (its audio function stays on the host).
        #expect(lines.contains { $0.hasPrefix("refused") && $0.contains("0000:01:00.0") && $0.contains("snd_hda_intel") })
        #expect(lines.contains { $0.hasPrefix("refused") && $0.contains("0000:00:1f.3") })
        #expect(lines.contains { $0.hasPrefix("unmatched") && $0.contains("desired.conf:6") })
        #expect(driver("01:00.0") == "nouveau")

        // With group = whole the GPU entry goes through; the chipset one is still refused.
        try """
        [device 0000:01:00.0]
        driver = vfio-pci
        group = whole
        force = yes
        [device 0000:05:00.0]
        driver = vfio-pci
        [device 0000:00:1e.0]
        driver = vfio-pci
        """.write(toFile: file, atomically: false, encoding: .utf8)
        let second = vfioctl(["apply", file, "--json"], host: host, kernel: kernel)
        #expect(second.status == 2)
        let r = try results(second)
        #expect(r["0000:01:00.0"]?["status"] as? String == "changed")
        #expect(r["0000:05:00.0"]?["status"] as? String == "changed")
        #expect(r["0000:00:1e.0"]?["status"] as? String == "refused")
        #expect(driver("01:00.1") == "vfio-pci")
    }

    @Test("apply documents match the schema", .enabled(if: JSONSchemaTests.validatorAvailable))
    func schema() throws {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n[device 00:1f.3]\ndriver = vfio-pci\n[device 7f:00.0]\ndriver = host\n")
        for args in [["apply", "--json", "--dry-run"], ["apply", "--json"], ["apply", "--json"]] {
            let run = vfioctl(args, host: host, kernel: kernel)
            let file = host.path + "/apply.json"
            try run.stdout.write(toFile: file, atomically: false, encoding: .utf8)
            let output = try runProcess(
                "/usr/bin/python3",
                [JSONSchemaTests.repository + "/schema/validate.py", JSONSchemaTests.repository + "/schema/vfioctl.schema.json", "applyDocument", file],
                allowFailure: true)
            #expect(output.isEmpty, "\(output)")
        }
    }

    @Test("--dry-run prints the writes and changes nothing")
    func dryRun() throws {
        host.write("/etc/vfioctl.conf", "[group 19]\ndriver = vfio-pci\n")
        let before = host.snapshot()
        let run = vfioctl(["apply", "--dry-run"], host: host, kernel: kernel, uid: 1000)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("driver_override"))
        #expect(run.stdout.contains("planned"))
        #expect(kernel.writes.isEmpty)
        #expect(host.snapshot() == before)
    }

    @Test("bad files are usage errors that change nothing", arguments: ["[device 01:00]\ndriver = vfio-pci\n", "[device 01:00.0]\ndriver = ../x\n"])
    func badFile(_ text: String) {
        host.write("/etc/vfioctl.conf", text)
        let run = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(run.status == 64)
        #expect(run.stderr.contains("/etc/vfioctl.conf:"))
        #expect(kernel.writes.isEmpty)
    }

    @Test("not root: 77 and nothing changed")
    func notRoot() {
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        let run = vfioctl(["apply"], host: host, kernel: kernel, uid: 1000)
        // Under a root prefix, tests run as the invoking user; on the real host (root "/") 77.
        #expect(run.status == 0 || run.status == 77)
        let real = Vfioctl.run(
            arguments: ["apply", "--root", "/", host.path + "/etc/vfioctl.conf"], console: Console.capturing(), environment: [:],
            services: CommandServices(kernel: { _ in kernel.interface }, effectiveUID: 1000))
        #expect(real == 77)
    }

    @Test("an empty configuration is nothing to do")
    func empty() {
        let run = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(run.status == 0)
        #expect(run.stdout.contains("nothing to apply"))
    }

    @Test("the shipped example parses, and applies once uncommented")
    func example() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
        let text = try String(contentsOfFile: repository + "/dist/vfioctl.conf.example", encoding: .utf8)
        #expect(try DesiredState.parse(text, file: "example").entries.isEmpty)
        let uncommented = text.split(separator: "\n").map {
            $0.hasPrefix("#[") || $0.hasPrefix("#driver") || $0.hasPrefix("#group") || $0.hasPrefix("#count") || $0.hasPrefix("#numa") || $0.hasPrefix("#owner")
                ? String($0.dropFirst()) : String($0)
        }.joined(separator: "\n")
        let state = try DesiredState.parse(uncommented, file: "example")
        #expect(state.entries.count == 5)
        #expect(state.entries.compactMap(\.owner) == [OwnerSpec(user: "dpdk", group: "kvm")])
        #expect(state.timeout == .seconds(30))
    }
}

@Suite("vfioctl apply: giving devices back")
struct ApplyReleaseTests {
    let f = ReleaseFixture()

    @Test("driver = host gives a device back once free; a holder that stays past the file's timeout is exit 3")
    func release() throws {
        f.host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(f.run(["apply"]).status == 0)
        #expect(f.driver("05:00.0") == "vfio-pci")

        // Held: the file gives it 0 s, so apply reports a timeout, writes nothing, exit 3.
        try f.holdGroup(19)
        f.host.write("/etc/vfioctl.conf", "[defaults]\ntimeout = 0\n[device 05:00.0]\ndriver = host\n")
        let mark = f.kernel.writes.count
        let held = f.run(["apply", "--json"])
        #expect(held.status == 3, "\(held.stdout)\(held.stderr)")
        let device = try #require((try held.json()["devices"] as? [[String: Any]])?.first)
        #expect(device["status"] as? String == "timeout")
        #expect((device["message"] as? String)?.contains("4242") == true)
        #expect(f.writes(since: mark).isEmpty)
        #expect(f.driver("05:00.0") == "vfio-pci")

        // Free: back on igb, record forgotten, and a re-run changes nothing.
        f.release()
        let done = f.run(["apply", "--json"])
        #expect(done.status == 0, "\(done.stdout)\(done.stderr)")
        #expect(f.driver("05:00.0") == "igb")
        #expect(try f.records().isEmpty)
        let again = f.run(["apply", "--json"])
        #expect(again.status == 0)
        #expect((try again.json()["devices"] as? [[String: Any]])?.first?["status"] as? String == "unchanged")
    }

    @Test("driver = none leaves it unbound")
    func none() throws {
        f.host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(f.run(["apply"]).status == 0)
        f.host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = none\n")
        let run = f.run(["apply"])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(f.driver("05:00.0") == nil)
    }
}
