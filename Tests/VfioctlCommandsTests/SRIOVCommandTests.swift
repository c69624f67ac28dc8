import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

@Suite("vfioctl sriov")
struct SRIOVCommandTests {
    let host = FixtureHost.sriovNVMe()
    let kernel: SimulatedKernel

    init() {
        kernel = SimulatedKernel(host: host)
        kernel.setVFDriver(FixtureHost.sriovNVMeVFDriver, for: FixtureHost.sriovNVMePF)
    }

    func run(_ args: [String], uid: UInt32 = 0) -> Run {
        let console = Console.capturing()
        let services = CommandServices(
            kernel: { [kernel] _ in kernel.interface }, effectiveUID: uid,
            executorOptions: ExecutorOptions(busyRetries: 0, retryDelay: .zero, verifyTimeout: .zero, pollInterval: .zero),
            deviceNumbers: host.deviceNumbers)
        let status = Vfioctl.run(arguments: args, console: console, environment: ["VFIOCTL_ROOT": host.path], services: services)
        return Run(status: status, stdout: console.captured, stderr: console.capturedErrors)
    }

    struct Bad: Sendable, CustomTestStringConvertible {
        var args: [String]
        var status: Int32
        var message: String
        var uid: UInt32 = 0
        var testDescription: String { args.joined(separator: " ") }
    }

    @Test(
        "bad input: one line, its exit status, nothing written",
        arguments: [
            Bad(args: ["sriov", "04:00", "--vfs", "2"], status: 64, message: "is not a PCI address"),
            Bad(args: ["sriov", "04:00.0", "--vfs", "5"], status: 64, message: "supports 0 to 4 VFs"),
            Bad(args: ["sriov", "04:00.0", "--vfs", "-1"], status: 64, message: "--vfs"),
            Bad(args: ["sriov", "04:00.0", "--vfs", "2", "--driver", "vfio-pci"], status: 64, message: "--driver needs --bind"),
            Bad(args: ["sriov", "04:00.0", "--vfs", "2", "--bind", "--driver", "nvme"], status: 64, message: "is not a VFIO driver"),
            Bad(args: ["sriov", "00:05.0", "--vfs", "1"], status: 2, message: "has no SR-IOV capability"),
            Bad(args: ["sriov", "09:00.0", "--vfs", "1"], status: 69, message: "no PCI device"),
        ])
    func badInput(_ bad: Bad) {
        let result = run(bad.args, uid: bad.uid)
        #expect(result.status == bad.status, "\(result.stderr)")
        #expect(result.stderr.contains(bad.message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(kernel.writes.isEmpty)
    }

    @Test("--dry-run --json: the writes and the binds of VFs that do not exist yet")
    func dryRunJSON() throws {
        let result = run(["sriov", "04:00.0", "--vfs", "2", "--bind", "--dry-run", "--json"], uid: 1000)
        #expect(result.status == 0, "\(result.stderr)")
        let json = try result.json()
        #expect(json["result"] as? String == "planned")
        #expect(json["vfs"] as? [String] == ["0000:04:00.1", "0000:04:00.2"])
        let steps = (json["steps"] as? [[String: Any]])?.compactMap { $0["shell"] as? String } ?? []
        #expect(steps.count == 2 && steps[0].hasSuffix("sriov_drivers_autoprobe") && steps[1].hasPrefix("echo 2 >"))
        #expect(((json["bindSteps"] as? [Any])?.count ?? 0) > 0)
        #expect(kernel.writes.isEmpty)
    }

    @Test("text: created and bound, then restore puts it back")
    func textAndRestore() {
        let made = run(["sriov", "04:00.0", "--vfs", "2", "--bind"])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("0000:04:00.0: sriov_numvfs 0 -> 2 (sriov_drivers_autoprobe set to 0 first)"))
        #expect(made.stdout.contains("bound 0000:04:00.2 to vfio-pci (was unbound)"))
        let refused = run(["sriov", "04:00.0", "--vfs", "0"])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("--timeout"))
        let restored = run(["restore"])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stdout.contains("0000:04:00.0: sriov_numvfs back to 0, sriov_drivers_autoprobe to 1"), "\(restored.stdout)")
    }

    @Test("restore --dry-run and --json show the SR-IOV part: the VFs first, then the count and autoprobe")
    func restoreDryRunShowsSRIOV() throws {
        #expect(run(["sriov", "04:00.0", "--vfs", "2", "--bind"]).status == 0)
        let written = kernel.writes.count
        let text = run(["restore", "--dry-run"])
        #expect(text.status == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n").map(String.init)
        let unbind = lines.firstIndex { $0.hasPrefix("echo 0000:04:00.1 >") && $0.hasSuffix("/unbind") }
        let last = lines.firstIndex { $0.contains("SR-IOV PFs") }
        let count = lines.firstIndex { $0.hasPrefix("echo 0 >") && $0.hasSuffix("0000:04:00.0/sriov_numvfs") }
        let autoprobe = lines.firstIndex { $0.hasPrefix("echo 1 >") && $0.hasSuffix("0000:04:00.0/sriov_drivers_autoprobe") }
        #expect(unbind != nil && last != nil && count != nil && autoprobe != nil, "\(text.stdout)")
        if let unbind, let last, let count, let autoprobe { #expect(unbind < last && last < count && last < autoprobe) }
        let json = try run(["restore", "--dry-run", "--json"]).json()
        let sriov = json["sriov"] as? [[String: Any]] ?? []
        #expect(sriov.count == 1)
        #expect(sriov.first?["pf"] as? String == "0000:04:00.0")
        #expect(sriov.first?["result"] as? String == "planned")
        #expect(sriov.first?["numVFs"] as? Int == 0)
        let shells = (sriov.first?["steps"] as? [[String: Any]])?.compactMap { $0["shell"] as? String } ?? []
        #expect(shells.contains { $0.hasSuffix("0000:04:00.0/sriov_numvfs") }, "\(shells)")
        #expect(kernel.writes.count == written)
        let done = try run(["restore", "--json"]).json()
        #expect(done["changed"] as? Bool == true)
        #expect((done["sriov"] as? [[String: Any]])?.first?["result"] as? String == "restored")
        let unbindJSON = try run(["unbind", "04:00.0", "--json", "--dry-run"]).json()
        #expect(unbindJSON["sriov"] as? [Any] != nil)
    }

    @Test(
        "sriov and show documents validate against the schema", .enabled(if: JSONSchemaTests.validatorAvailable),
        arguments: [
            (["sriov", "04:00.0", "--vfs", "2", "--bind", "--dry-run", "--json"], "sriovDocument"),
            (["sriov", "04:00.0", "--vfs", "2", "--bind", "--json"], "sriovDocument"),
            (["sriov", "04:00.0", "--vfs", "9", "--json"], "errorDocument"),
            (["show", "04:00.0", "--json"], "deviceShowDocument"),
            (["list", "--json"], "listDocument"),
            (["restore", "--dry-run", "--json"], "releaseDocument"),
        ])
    func schema(_ args: [String], _ definition: String) throws {
        host.writeModulesAlias()
        let result = run(args)
        let file = host.path + "/document.json"
        try result.stdout.write(toFile: file, atomically: false, encoding: .utf8)
        for name in [definition, "any"] {
            let output = try runProcess(
                "/usr/bin/python3",
                [JSONSchemaTests.repository + "/schema/validate.py", JSONSchemaTests.repository + "/schema/vfioctl.schema.json", name, file],
                allowFailure: true)
            #expect(output.isEmpty, "\(name): \(output)\n\(result.stdout)")
        }
    }
}
