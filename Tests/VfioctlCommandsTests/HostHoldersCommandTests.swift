import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

private let nvme = PCIAddress("0000:02:00.0")!
private let gpu = PCIAddress("0000:01:00.0")!

/// The desktop with the GPU's DRM card and the NVMe's controller and namespace nodes; a
/// display server (pid 812, display-manager.service) holding the card and, with `database`,
/// a database (pid 2000) holding the raw namespace.
private func host(database: Bool = true) throws -> FixtureHost {
    let host = try FixtureHost.desktopWithVFIONodes()
    try host.addCharDevice(on: gpu, subpath: "drm/card0", dev: "226:0", devName: "dri/card0")
    try host.addCharDevice(on: nvme, subpath: "nvme/nvme0", dev: "241:0", devName: "nvme0")
    host.addDisk("nvme0n1", on: nvme, subpath: "nvme/nvme0", dev: "259:0")
    try host.makeBlockNodes(["nvme0n1"])
    host.addProcess(812, comm: "Xorg", cgroup: "0::/system.slice/display-manager.service")
    host.addFD(812, 11, to: "/dev/dri/card0")
    if database {
        host.addProcess(2000, comm: "postgres", cgroup: "0::/system.slice/postgresql.service")
        host.addFD(2000, 7, to: "/dev/nvme0n1")
    }
    return host
}

@Suite("host holders in holders, show and bind")
struct HostHoldersCommandTests {
    @Test("holders on a host-bound NVMe: in use on the host, the nodes, the process and its fd")
    func holdersText() throws {
        let run = vfioctl(["holders", "02:00.0"], host: try host())
        #expect(run.status == 0)
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first == "0000:02:00.0  nvme  group 14  in use on the host by pid 2000 (postgres)")
        #expect(lines.contains("  host nodes /dev/nvme0n1 /dev/nvme0"))
        #expect(lines.contains { $0.hasPrefix("pid 2000  postgres") && $0.hasSuffix("postgresql.service") })
        #expect(lines.contains("  fd 7     host-node /dev/nvme0n1  0000:02:00.0"))
    }

    @Test("holders --json: state host-held, the host nodes, the holder with a host-node handle")
    func holdersJSON() throws {
        let json = try vfioctl(["holders", "02:00.0", "--json"], host: try host()).json()
        #expect(json["free"] as? Bool == false)
        let target = try #require((json["targets"] as? [[String: Any]])?.first)
        #expect(target["state"] as? String == "host-held")
        #expect(target["holders"] as? [Int] == [2000])
        let nodes = try #require(target["hostNodes"] as? [[String: Any]])
        #expect(nodes.map { $0["path"] as? String } == ["/dev/nvme0n1", "/dev/nvme0"])
        #expect(nodes.map { $0["kind"] as? String } == ["block", "char"])
        #expect(nodes.first?["number"] as? String == "259:0")
        #expect(nodes.first.map { $0["via"] is NSNull } == true)
        let holder = try #require((json["holders"] as? [[String: Any]])?.first)
        #expect(holder["unit"] as? String == "postgresql.service")
        let handle = try #require((holder["handles"] as? [[String: Any]])?.first)
        #expect(handle["kind"] as? String == "host-node")
        #expect(handle["device"] as? String == "0000:02:00.0")
    }

    @Test("holders on a host-bound device with nodes nobody holds: says so, free")
    func holdersFree() throws {
        let run = vfioctl(["holders", "02:00.0"], host: try host(database: false))
        #expect(run.stdout.hasPrefix("0000:02:00.0  nvme  group 14  on its host driver, no process has its nodes open\n"))
        #expect(try vfioctl(["holders", "02:00.0", "--json"], host: try host(database: false)).json()["free"] as? Bool == true)
    }

    @Test("show on a host-bound GPU names its host holder (text and JSON)")
    func show() throws {
        let h = try host()
        let text = vfioctl(["show", "01:00.0"], host: h).stdout
        #expect(text.contains("  Holders:           0000:01:00.0 is in use on the host by pid 812 (Xorg) through /dev/dri/card0\n"))
        let json = try vfioctl(["show", "01:00.0", "--json"], host: h).json()
        let holder = try #require((json["holders"] as? [[String: Any]])?.first)
        #expect(holder["pid"] as? Int == 812)
        #expect(holder["unit"] as? String == "display-manager.service")
        #expect(holder["through"] as? [String] == ["/dev/dri/card0"])
        // A host-bound device without nodes: null, as before.
        #expect(try vfioctl(["show", "05:00.0", "--json"], host: h).json()["holders"] is NSNull)
    }

    @Test("bind refuses a held NVMe with exit 2, naming pid, command, unit and node, and the remedy")
    func bindRefused() throws {
        let h = try host()
        let kernel = SimulatedKernel(host: h)
        let run = vfioctl(["bind", "02:00.0"], host: h, kernel: kernel)
        #expect(run.status == 2)
        #expect(kernel.writes.isEmpty)
        #expect(run.stderr.contains("0000:02:00.0 is in use: pid 2000 (postgres, postgresql.service) has /dev/nvme0n1 open"), "\(run.stderr)")
        #expect(run.stderr.contains("systemctl stop postgresql.service"))
        #expect(h.driver(of: nvme) == "nvme")
        let json = try vfioctl(["bind", "02:00.0", "--json"], host: h, kernel: kernel).json()
        let refusal = try #require((json["refusals"] as? [[String: Any]])?.first)
        #expect(refusal["use"] as? String == "open-device-node")
        #expect(refusal["forceable"] as? Bool == true)
    }

    @Test("bind --force takes it anyway; without the holder it needs no force")
    func bindForced() throws {
        let h = try host()
        let kernel = SimulatedKernel(host: h)
        let run = vfioctl(["bind", "02:00.0", "--force"], host: h, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(h.driver(of: nvme) == "vfio-pci")
        let free = try host(database: false)
        #expect(vfioctl(["bind", "02:00.0"], host: free, kernel: SimulatedKernel(host: free)).status == 0)
    }

    @Test("bind --wait gives up at --timeout with exit 3, the holder named, nothing written; --timeout alone is a usage error")
    func bindWaitTimesOut() throws {
        let h = try host()
        let kernel = SimulatedKernel(host: h)
        let run = vfioctl(["bind", "02:00.0", "--wait", "--timeout", "300ms"], host: h, kernel: kernel)
        #expect(run.status == 3, "\(run.stderr)")
        #expect(run.stderr.contains("timed out after 0."), "\(run.stderr)")
        #expect(run.stderr.contains("pid 2000 (postgres)"), "\(run.stderr)")
        #expect(run.stderr.contains("nothing was changed"))
        #expect(kernel.writes.isEmpty)
        #expect(h.driver(of: nvme) == "nvme")
        let json = try vfioctl(["bind", "02:00.0", "--wait", "--timeout", "0", "--json"], host: h, kernel: kernel).json()
        let error = try #require(json["error"] as? [String: Any])
        #expect(error["code"] as? Int == 3)
        #expect(error["kind"] as? String == "timeout")
        #expect((json["refusals"] as? [[String: Any]])?.first?["use"] as? String == "open-device-node")
        let usage = vfioctl(["bind", "02:00.0", "--timeout", "5s"], host: h, kernel: kernel)
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("--timeout needs --wait"))
        #expect(kernel.writes.isEmpty)
    }

    static let validatorAvailable =
        FileManager.default.fileExists(atPath: "/usr/bin/python3")
        && (try? runProcess("/usr/bin/python3", ["-c", "import jsonschema"])) != nil

    @Test("show with host holders and a bind refused for one validate against the schema", .enabled(if: validatorAvailable))
    func schema() throws {
        let h = try host()
        let kernel = SimulatedKernel(host: h)
        let documents = [
            ("deviceShowDocument", vfioctl(["show", "02:00.0", "--json"], host: h).stdout),
            ("bindRefusalDocument", vfioctl(["bind", "02:00.0", "--json"], host: h, kernel: kernel).stdout),
            ("bindRefusalDocument", vfioctl(["bind", "02:00.0", "--wait", "--timeout", "0", "--json"], host: h, kernel: kernel).stdout),
        ]
        for (definition, text) in documents {
            let file = h.path + "/" + definition + ".json"
            try text.write(toFile: file, atomically: false, encoding: .utf8)
            let output = try runProcess(
                "/usr/bin/python3",
                [JSONSchemaTests.repository + "/schema/validate.py", JSONSchemaTests.repository + "/schema/vfioctl.schema.json", definition, file],
                allowFailure: true)
            #expect(output.isEmpty, "\(definition): \(output)")
        }
    }
}
