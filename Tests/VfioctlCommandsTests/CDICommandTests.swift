import Foundation
import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters
@testable import VfioctlCommands
@testable import VfioctlOutput

/// `vfioctl cdi` and the CDI spec that `apply` keeps in step, validated against the published
/// CDI schema (schema/cdi/) by schema/validate-cdi.py; and the documents of `cdi --json` and
/// of `apply --watch` against schema/vfioctl.schema.json.
@Suite("vfioctl cdi and the watch document")
struct CDICommandTests {
    static let repository = JSONSchemaTests.repository
    static let validatorAvailable = JSONSchemaTests.validatorAvailable

    /// The desktop layout with group 24 (07:02.1, on vfio-pci with its cdev) given its nodes.
    func host(iommufd: Bool = true) throws -> FixtureHost {
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24)
        _ = try host.addVFIODeviceNode("vfio0")
        _ = try host.addContainerNode()
        if iommufd { try host.makeCharNode("/dev/iommu", major: 10, minor: 123) }
        return host
    }

    func validateCDI(_ file: String) throws -> String {
        try runProcess("/usr/bin/python3", [Self.repository + "/schema/validate-cdi.py", file], allowFailure: true)
    }

    func validate(_ definition: String, _ text: String, in host: FixtureHost) throws -> String {
        let file = host.path + "/document.json"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        let schema = Self.repository + "/schema/vfioctl.schema.json"
        return try runProcess("/usr/bin/python3", [Self.repository + "/schema/validate.py", schema, definition, file], allowFailure: true)
            + runProcess("/usr/bin/python3", [Self.repository + "/schema/validate.py", schema, "any", file], allowFailure: true)
    }

    @Test("specs for fixture hosts validate against the published CDI schema", .enabled(if: validatorAvailable), arguments: [0, 1, 2])
    func validates(variant: Int) throws {
        let host = variant == 2 ? FixtureLayout.noIOMMU.build() : try host(iommufd: variant == 0)
        let run = vfioctl(["cdi"], host: host)
        #expect(run.status == 0, "\(run.stderr)")
        let file = host.path + "/spec.json"
        try run.stdout.write(toFile: file, atomically: false, encoding: .utf8)
        let problems = try validateCDI(file)
        #expect(problems.isEmpty, "\(problems)")
        let spec = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let devices = try #require(spec["devices"] as? [[String: Any]])
        #expect(devices.count == (variant == 2 ? 0 : 1))
    }

    @Test("the validator rejects a spec that breaks the schema or the specification's rules", .enabled(if: validatorAvailable))
    func rejects() throws {
        let host = try host()
        let good = vfioctl(["cdi"], host: host).stdout
        for (broken, expected) in [
            (good.replacingOccurrences(of: "\"cdiVersion\"", with: "\"version\""), "cdiVersion"),
            (good.replacingOccurrences(of: "\"path\" : \"/dev/vfio/24\"", with: "\"type\" : \"c\""), "path"),
            (good.replacingOccurrences(of: "\"vfioctl.io/group\"", with: "\"group\""), "kind"),
        ] {
            #expect(broken != good)
            let file = host.path + "/bad.json"
            try broken.write(toFile: file, atomically: false, encoding: .utf8)
            #expect(try validateCDI(file).contains(expected))
        }
    }

    @Test("--output writes the file atomically, then leaves it alone when nothing changed; --json validates", .enabled(if: validatorAvailable))
    func output() throws {
        let host = try host()
        let path = host.path + "/etc/cdi/vfioctl.json"
        let first = vfioctl(["cdi", "--output", path], host: host)
        #expect(first.status == 0 && first.stdout == "wrote \(path): group 24\n", "\(first.stdout)\(first.stderr)")
        #expect(try validateCDI(path).isEmpty)
        let second = vfioctl(["cdi", "--output", path, "--json"], host: host)
        #expect(second.status == 0)
        #expect(try second.json()["changed"] as? Bool == false)
        #expect(try validate("cdiDocument", second.stdout, in: host).isEmpty)
        let custom = vfioctl(["cdi", "--kind", "example.com/vfio"], host: host)
        #expect(custom.stdout.contains("\"kind\" : \"example.com/vfio\""))
    }

    @Test("bad arguments are usage errors and write nothing", arguments: [["--kind", "group"], ["--kind", "a/b/c"], ["--output", "relative.json"], ["--output", "/etc/cdi/"]])
    func usage(args: [String]) throws {
        let host = try host()
        let run = vfioctl(["cdi"] + args, host: host)
        #expect(run.status == 64, "\(run.stdout)\(run.stderr)")
        #expect(run.stderr.hasPrefix("vfioctl: ") && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(Sysfs.list(host.path + "/etc/cdi") == nil)
    }

    @Test("apply with [defaults] cdi = keeps the spec in step with the bindings", .enabled(if: validatorAvailable))
    func apply() throws {
        let host = try host(iommufd: false)
        let kernel = SimulatedKernel(host: host)
        host.write("/etc/vfioctl.conf", "[defaults]\ncdi = /etc/cdi/vfioctl.json\n[device 05:00.0]\ndriver = vfio-pci\n")
        let run = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        let cdi = try #require(try run.json()["cdi"] as? [String: Any])
        #expect(cdi["changed"] as? Bool == true)
        #expect(cdi["path"] as? String == "/etc/cdi/vfioctl.json")
        // 05:00.0's group 19 (its node made by the simulated kernel's bind) and group 24.
        #expect(cdi["devices"] as? [String] == ["19", "24"])
        #expect(try validate("applyDocument", run.stdout, in: host).isEmpty)
        #expect(try validateCDI(host.path + "/etc/cdi/vfioctl.json").isEmpty)
        let again = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(again.stdout.contains("cdi        /etc/cdi/vfioctl.json: 2 group(s), unchanged"), "\(again.stdout)")
        host.write("/etc/vfioctl.conf", "[defaults]\ncdi = /etc/cdi/vfioctl.json\n[device 05:00.0]\ndriver = host\n")
        let third = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(third.status == 0, "\(third.stdout)\(third.stderr)")
        #expect(third.stdout.contains("1 group(s), rewritten"), "\(third.stdout)")
        #expect(host.read("/etc/cdi/vfioctl.json")?.contains("\"name\" : \"19\"") == false)
        host.write("/etc/vfioctl.conf", "[defaults]\ncdi = etc/cdi.json\n")
        let bad = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(bad.status == 64 && bad.stderr.contains("/etc/vfioctl.conf:2: cdi must be an absolute file path"), "\(bad.stderr)")
    }

    @Test("a watch pass is one JSON line that validates as watchPassDocument", .enabled(if: validatorAvailable))
    func watchLine() throws {
        let host = try host()
        let kernel = SimulatedKernel(host: host)
        host.write("/etc/vfioctl.conf", "[defaults]\ncdi = /etc/cdi/vfioctl.json\n[device 05:00.0]\ndriver = vfio-pci\n[device 01:00.0]\ndriver = vfio-pci\n")
        let session = HostSession(root: host.root, kernel: kernel.interface, effectiveUID: 0, lockTimeout: .zero, deviceNumbers: host.deviceNumbers)
        let outcome = try session.apply(try DesiredState.load(root: host.root), noWait: true)
        let passes = [
            WatchPass(number: 1, reason: .start, usedLastGood: false, outcome: outcome, time: FixtureClock.time),
            WatchPass(number: 2, reason: .config, configError: .usage("/etc/vfioctl.conf:3: unknown key 'x'"), usedLastGood: true, outcome: outcome, time: FixtureClock.time),
            WatchPass(number: 3, reason: .reconcile, usedLastGood: false, error: .failed("another vfioctl holds the lock"), time: FixtureClock.time),
        ]
        for pass in passes {
            let console = Console.capturing()
            console.emitJSONLine(WatchPassDocument(pass, time: Timestamp.now()))
            #expect(console.captured.filter { $0 == "\n" }.count == 1 && console.captured.hasSuffix("}\n"))
            #expect(try validate("watchPassDocument", console.captured, in: host).isEmpty, "\(console.captured)")
        }
        let line = try #require(
            try JSONSerialization.jsonObject(
                with: Data(
                    {
                        let console = Console.capturing()
                        console.emitJSONLine(WatchPassDocument(passes[0], time: "2026-12-01T12:00:00Z"))
                        return console.captured
                    }().utf8)) as? [String: Any])
        #expect((line["changed"] as? [[String: Any]])?.map { $0["address"] as? String } == ["0000:05:00.0"])
        #expect((line["refused"] as? [[String: Any]])?.map { $0["address"] as? String } == ["0000:01:00.0"])
        #expect(line["config"] as? String == "ok")
    }

    @Test(
        "apply --watch: bad combinations are usage errors",
        arguments: [["--watch", "--dry-run"], ["--interval", "5s"], ["--watch", "--interval", "0"], ["--watch", "--timeout", "5s"], ["--watch", "/nonexistent.conf"]])
    func watchUsage(args: [String]) throws {
        let host = FixtureLayout.desktop.build()
        let run = vfioctl(["apply"] + args, host: host, kernel: SimulatedKernel(host: host))
        #expect(run.status == 64, "\(run.stdout)\(run.stderr)")
    }
}
