import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

/// `show` and `bind` under an IOMMU that remaps no interrupts: the group is viable, and both
/// say VFIO will refuse to attach it until allow_unsafe_interrupts is on.
@Suite("show and bind: the attach verdict")
struct AttachVerdictCommandTests {
    static let refusal =
        "viable, but VFIO will refuse to attach it here (no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 to accept the risk)"

    let host = FixtureLayout.iommuHost(.virtio)
    let kernel: SimulatedKernel

    init() { kernel = SimulatedKernel(host: host) }

    func validate(_ text: String, _ definition: String) throws -> String {
        guard JSONSchemaTests.validatorAvailable else { return "" }
        let file = host.path + "/document-\(definition).json"
        try text.write(toFile: file, atomically: false, encoding: .utf8)
        return try runProcess(
            "/usr/bin/python3",
            [JSONSchemaTests.repository + "/schema/validate.py", JSONSchemaTests.repository + "/schema/vfioctl.schema.json", definition, file],
            allowFailure: true)
    }

    @Test("bind exits 0, moves the device, and warns; the JSON carries the verdict")
    func bind() throws {
        let json = vfioctl(["bind", "05:00.0", "--dry-run", "--json"], host: host, kernel: kernel)
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stderr.isEmpty)
        let doc = try json.json()
        let groups = try #require(doc["groups"] as? [[String: Any]])
        let attach = try #require(groups.first?["attach"] as? [String: Any])
        #expect(attach["status"] as? String == "refused")
        #expect(attach["iommu"] as? String == "virtio-iommu")
        #expect(attach["interruptIsolation"] as? String == "missing")
        #expect((doc["warnings"] as? [String])?.contains("group 19 is \(Self.refusal)") == true)
        #expect(try validate(json.stdout, "bindDocument").isEmpty)
        let run = vfioctl(["bind", "05:00.0"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout == "bound 0000:05:00.0 to vfio-pci (was igb)\ngroup 19 is \(Self.refusal): /dev/vfio/19\n")
        #expect(run.stderr == "vfioctl: warning: group 19 is \(Self.refusal)\n")
        #expect(host.driver("05:00.0") == "vfio-pci")
    }

    @Test("apply says it as bind does, for each group it binds")
    func apply() throws {
        let file = host.path + "/etc/vfioctl/devices.conf"
        host.write("/etc/vfioctl/devices.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\n")
        let run = vfioctl(["apply", file], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("vfioctl: warning: group 19 is \(Self.refusal)\n"), "\(run.stderr)")
        #expect(host.driver("05:00.0") == "vfio-pci")
    }

    @Test("show DEVICE and show group:N say the same; with the parameter on, the verdict is unsafe")
    func show() throws {
        // 07:02.1 is on vfio-pci, alone in group 24: viable.
        let text = vfioctl(["show", "07:02.1"], host: host)
        #expect(text.status == 0)
        #expect(text.stdout.contains("  IOMMU group:       24 (\(Self.refusal)), default domain DMA\n"), "\(text.stdout)")
        let group = vfioctl(["show", "group:24"], host: host)
        #expect(group.stdout.hasPrefix("IOMMU group 24: \(Self.refusal)\n"), "\(group.stdout)")
        // A group that is not viable says "not viable", and the attach verdict on a line of its own.
        let blocked = vfioctl(["show", "group:25"], host: host)
        #expect(blocked.stdout.hasPrefix("IOMMU group 25: not viable\n"))
        #expect(blocked.stdout.contains("  VFIO attach:       VFIO will refuse to attach it here"))
        let json = vfioctl(["show", "05:00.0", "--json"], host: host)
        let attach = try #require(try json.json()["attach"] as? [String: Any])
        #expect(attach["status"] as? String == "refused")
        #expect(attach["warning"] as? String == "VFIO will refuse to attach it here (no interrupt remapping; vfio_iommu_type1.allow_unsafe_interrupts=1 to accept the risk)")
        #expect((attach["fix"] as? String)?.contains("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts") == true)
        #expect(try validate(json.stdout, "deviceShowDocument").isEmpty)
        let groupJSON = vfioctl(["show", "group:19", "--json"], host: host)
        #expect((try groupJSON.json()["attach"] as? [String: Any])?["status"] as? String == "refused")
        #expect(try validate(groupJSON.stdout, "groupShowDocument").isEmpty)
        // A device without a group: null.
        #expect(try vfioctl(["show", "00:08.0", "--json"], host: host).json()["attach"] is NSNull)

        host.write("/sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", "Y\n")
        let on = vfioctl(["show", "07:02.1"], host: host)
        #expect(on.stdout.contains("  IOMMU group:       24 (viable), default domain DMA\n"), "\(on.stdout)")
        #expect(on.stdout.contains("  VFIO attach:       VFIO attaches it only because vfio_iommu_type1.allow_unsafe_interrupts is on"))
        #expect((try vfioctl(["show", "05:00.0", "--json"], host: host).json()["attach"] as? [String: Any])?["status"] as? String == "unsafe")
    }

    @Test("with interrupt remapping there is no warning, and the verdict is ok")
    func remapped() throws {
        let intel = FixtureLayout.iommuHost(.intel(ecap: "0xf0050aa", remapped: true))
        let run = vfioctl(["bind", "05:00.0"], host: intel, kernel: SimulatedKernel(host: intel))
        #expect(run.status == 0)
        #expect(run.stdout.hasSuffix("group 19 is viable: /dev/vfio/19\n"))
        #expect(run.stderr.isEmpty)
        let show = vfioctl(["show", "05:00.0", "--json"], host: intel)
        let attach = try #require(try show.json()["attach"] as? [String: Any])
        #expect(attach["status"] as? String == "ok")
        #expect(attach["warning"] is NSNull)
    }
}
