import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

@Suite("desired-state file")
struct DesiredStateTests {
    static let example = """
        # which devices go where
        [defaults]
        timeout = 45s

        [device 0000:01:00.0]   ; the GPU
        driver = vfio-pci
        group = whole

        [ids 8086:1533]
        driver = vfio-pci
        count = 1
        force = yes

        [group 25]
        driver = vfio-pci
        timeout = 2m

        [device 06:00.0]
        driver = host
        """

    @Test("parses every section kind and option")
    func parses() throws {
        let state = try DesiredState.parse(Self.example, file: "vfioctl.conf")
        #expect(state.timeout == .seconds(45))
        #expect(state.entries.count == 4)
        #expect(state.entries[0].selector == .address(PCIAddress("0000:01:00.0")!))
        #expect(state.entries[0].driver == .named("vfio-pci"))
        #expect(state.entries[0].wholeGroup)
        #expect(state.entries[0].source == "vfioctl.conf:5")
        #expect(state.entries[1].selector == .ids(vendor: 0x8086, device: 0x1533))
        #expect(state.entries[1].count == 1 && state.entries[1].force)
        #expect(state.entries[2].selector == .group(25) && state.entries[2].timeout == .seconds(120))
        #expect(state.entries[3].driver == .host)
    }

    @Test(
        "errors name the file and line and are usage errors",
        arguments: [
            ("[device 01:00]\ndriver = vfio-pci", "f:1"),
            ("[device 01:00.0]\ndriver = ../../x", "f:2"),
            ("[device 01:00.0]\nbogus = 1", "f:2"),
            ("driver = vfio-pci", "f:1"),
            ("[device 01:00.0]\ngroup = maybe", "f:2"),
            ("[device 01:00.0]\ncount = 2\ndriver = vfio-pci", "f:2"),
            ("[ids 10de:2204]\ncount = 0", "f:2"),
            ("[device 01:00.0]", "f:1"),
            ("[frob 1]\ndriver = x", "f:1"),
            ("[defaults]\ntimeout = soon", "f:2"),
            ("[defaults]\ntimeout = 30S", "f:2"),
            ("[device 01:00.0]\ndriver = vfio-pci\ntimeout = 8d", "f:3"),
            ("[device 01:00.0]\ndriver = -rf", "f:2"),
            ("[group x]\ndriver = vfio-pci", "f:1"),
            ("[device 01:00.0\ndriver = vfio-pci", "f:1"),
            ("[device 01:00.0]\ndriver vfio-pci", "f:2"),
        ])
    func errors(_ text: String, _ location: String) {
        do {
            _ = try DesiredState.parse(text, file: "f")
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.exitCode == 64)
            #expect(error.message.hasPrefix(location + ":"), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test("resolving against a host: ids count, groups without bridges, later entries win, unmatched reported")
    func resolve() throws {
        let host = FixtureLayout.desktop.build()
        let inventory = try InventoryReader(root: host.root, database: nil).read()
        var state = try DesiredState.parse(Self.example, file: "main")
        state.merge(try DesiredState.parse("[device 0000:05:00.0]\ndriver = none\n[device 0000:7f:00.0]\ndriver = vfio-pci\n", file: "drop-in"))
        let resolution = state.resolve(against: inventory)
        let byAddress = Dictionary(uniqueKeysWithValues: resolution.assignments.map { ($0.address.description, $0) })
        #expect(byAddress["0000:01:00.0"]?.driver == .named("vfio-pci"))
        // count = 1 takes the first matching function; the drop-in then unbinds it.
        #expect(byAddress["0000:05:00.0"]?.driver == DesiredState.Driver.none)
        #expect(byAddress["0000:05:00.0"]?.source == "drop-in:1")
        #expect(byAddress["0000:06:00.0"]?.driver == .host)
        // Group 25's bridge stays where it is.
        #expect(byAddress["0000:00:1e.0"] == nil)
        #expect(byAddress["0000:08:00.0"]?.timeout == .seconds(120))
        #expect(byAddress["0000:01:00.0"]?.timeout == .seconds(45))
        #expect(resolution.unmatched.map(\.source) == ["drop-in:3"])
    }

    @Test("the main file and sorted drop-ins are read from the root prefix")
    func load() throws {
        let host = FixtureLayout.desktop.build()
        host.write("/etc/vfioctl.conf", "[device 01:00.0]\ndriver = vfio-pci\n")
        host.write("/etc/vfioctl.conf.d/20-b.conf", "[device 01:00.0]\ndriver = none\n")
        host.write("/etc/vfioctl.conf.d/10-a.conf", "[device 01:00.1]\ndriver = vfio-pci\n")
        host.write("/etc/vfioctl.conf.d/ignored.txt", "not a config")
        let state = try DesiredState.load(root: host.root)
        #expect(state.entries.map(\.source) == ["/etc/vfioctl.conf:1", "/etc/vfioctl.conf.d/10-a.conf:1", "/etc/vfioctl.conf.d/20-b.conf:1"])
        #expect(try DesiredState.load(root: FixtureLayout.noIOMMU.build().root).entries.isEmpty)
    }
}
