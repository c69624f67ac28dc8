import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

@Suite("hook input: libvirt domain XML")
struct LibvirtDomainXMLTests {
    struct Shape: Sendable, CustomTestStringConvertible {
        var name: String
        var xml: String
        var expected: [(String, Bool)]
        var testDescription: String { name }
    }

    static func hostdev(_ managed: String?, bus: String = "0x01", slot: String = "0x00", function: String = "0x0", quote: String = "'") -> String {
        let q = quote
        let managedText = managed.map { " managed=\(q)\($0)\(q)" } ?? ""
        return """
                <hostdev mode=\(q)subsystem\(q) type=\(q)pci\(q)\(managedText)>
                  <driver name='vfio'/>
                  <source>
                    <address domain=\(q)0x0000\(q) bus=\(q)\(bus)\(q) slot=\(q)\(slot)\(q) function=\(q)\(function)\(q)/>
                  </source>
                  <alias name='hostdev0'/>
                  <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0'/>
                </hostdev>
            """
    }

    static func domain(_ devices: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <!--
        WARNING: THIS IS AN AUTO-GENERATED FILE. <hostdev mode='subsystem' type='pci'> in a comment is not a device
        -->
        <domain type='kvm' id='3'>
          <name>win11</name>
          <uuid>6f1b7c1e-2a51-4d8e-9a0e-5b6b8f0c1d2e</uuid>
          <description>gaming &amp; &quot;work&quot; &apos;vm&apos; &lt;3 &#65;&#x42;</description>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <interface type='network'><source network='default'/><address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></interface>
            <hostdev mode='subsystem' type='usb' managed='no'><source><vendor id='0x046d'/><product id='0xc52b'/></source></hostdev>
        \(devices)
          </devices>
          <seclabel type='dynamic' model='apparmor' relabel='yes'><label>libvirt-6f1b</label></seclabel>
        </domain>
        """
    }

    static let shapes: [Shape] = [
        Shape(name: "managed='no'", xml: domain(hostdev("no")), expected: [("0000:01:00.0", false)]),
        Shape(name: "managed='yes'", xml: domain(hostdev("yes")), expected: [("0000:01:00.0", true)]),
        Shape(name: "managed absent (libvirt's default: yes)", xml: domain(hostdev(nil)), expected: [("0000:01:00.0", true)]),
        Shape(name: "double quotes", xml: domain(hostdev("no", quote: "\"")), expected: [("0000:01:00.0", false)]),
        Shape(
            name: "multifunction GPU and audio",
            xml: domain(hostdev("no") + hostdev("no", function: "0x1")),
            expected: [("0000:01:00.0", false), ("0000:01:00.1", false)]),
        Shape(
            name: "several devices of one group, mixed managed",
            xml: domain(hostdev("no", bus: "0x08", slot: "0x00") + hostdev("yes", bus: "0x08", slot: "0x01") + hostdev(nil, bus: "0x0a", slot: "0x1f", function: "7")),
            expected: [("0000:08:00.0", false), ("0000:08:01.0", true), ("0000:0a:1f.7", true)]),
        Shape(name: "no hostdev", xml: domain(""), expected: []),
        Shape(
            name: "mdev hostdev is not a PCI device",
            xml: domain("<hostdev mode='subsystem' type='mdev' managed='no' model='vfio-pci'><source><address uuid='c2177883-f1bb-47f0-914d-32a22e3a8804'/></source></hostdev>"),
            expected: []),
    ]

    @Test("PCI hostdevs and their managed flag", arguments: shapes)
    func parsesShape(_ shape: Shape) throws {
        let parsed = try LibvirtDomainXML.parse(shape.xml)
        #expect(parsed.name == "win11")
        #expect(parsed.hostDevices.map { ($0.address.description) } == shape.expected.map(\.0))
        #expect(parsed.hostDevices.map(\.managed) == shape.expected.map(\.1))
    }

    @Test("unmanaged scope binds managed='no' only; all binds every PCI hostdev, each once")
    func scope() throws {
        let xml = Self.domain(Self.hostdev("no") + Self.hostdev("yes", function: "0x1") + Self.hostdev("no"))
        let parsed = try LibvirtDomainXML.parse(xml)
        #expect(parsed.devices(.unmanaged).map(\.description) == ["0000:01:00.0"])
        #expect(parsed.devices(.all).map(\.description) == ["0000:01:00.0", "0000:01:00.1"])
    }

    @Test(
        "malformed input is refused with a message",
        arguments: [
            ("<domain><devices>", "ends inside <devices>"),
            ("<domain></devices>", "does not close"),
            ("<domain><!-- never ends", "unterminated comment"),
            ("<domain a=b/>", "is not quoted"),
            ("<domain a='b/>", "unterminated attribute value"),
            ("<domain>&bogus;</domain>", "unknown entity"),
            ("<domain><hostdev mode='subsystem' type='pci'><source/></hostdev></domain>", "without <source><address>"),
            ("<domain><hostdev mode='subsystem' type='pci'/></domain>", "without <source><address>"),
            ("<domain><hostdev mode='subsystem' type='pci' managed='maybe'/></domain>", "managed='maybe'"),
            ("<domain><hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0x20' function='0'/></source></hostdev></domain>", "slot='0x20'"),
            ("<domain><hostdev mode='subsystem' type='pci'><source><address bus='0x01' slot='0x00'/></source></hostdev></domain>", "without function="),
        ])
    func malformed(_ xml: String, _ message: String) {
        #expect {
            _ = try LibvirtDomainXML.parse(xml)
        } throws: { error in
            guard let error = error as? VFIOError else { return false }
            return error.kind == .usage && error.message.contains(message)
        }
    }

    @Test("entities in text and attributes, CDATA and decimal addresses")
    func entities() throws {
        let xml = """
            <domain><name>a&amp;b &apos;x&apos; &quot;y&quot;</name><devices><![CDATA[<hostdev>]]>
            <hostdev mode="subsystem" type="pci" managed="&#110;o"><source><address domain="0" bus="10" slot="2" function="1"/></source></hostdev>
            </devices></domain>
            """
        let parsed = try LibvirtDomainXML.parse(xml)
        #expect(parsed.name == "a&b 'x' \"y\"")
        #expect(parsed.hostDevices == [.init(address: PCIAddress("0000:0a:02.1")!, managed: false)])
    }
}

@Suite("hook input: Proxmox hostpci lines")
struct ProxmoxConfigTests {
    @Test(
        "real hostpci forms",
        arguments: [
            ("hostpci0: 0000:01:00", [ProxmoxConfig.HostPCI.Source.ids([.slot(domain: 0, bus: 1, device: 0)])]),
            ("hostpci0: 01:00.0;02:00.0", [.ids([.function(PCIAddress("01:00.0")!), .function(PCIAddress("02:00.0")!)])]),
            ("hostpci1: 01:00,pcie=1,x-vga=1", [.ids([.slot(domain: 0, bus: 1, device: 0)])]),
            ("hostpci2: host=01:00.0,rombar=0", [.ids([.function(PCIAddress("01:00.0")!)])]),
            ("hostpci3: mapping=gpu,pcie=1", [.mapping("gpu")]),
            ("hostpci0: 0000:0a:1f.7,romfile=vbios.bin\nhostpci1: 03:00", [.ids([.function(PCIAddress("0a:1f.7")!)]), .ids([.slot(domain: 0, bus: 3, device: 0)])]),
        ])
    func forms(_ line: String, _ expected: [ProxmoxConfig.HostPCI.Source]) throws {
        let config = "boot: order=scsi0\ncores: 4\n# hostpci9: 09:00.0 in a comment\n\(line)\nmemory: 8192\n[snap1]\nhostpci5: 05:00.0\n"
        #expect(try ProxmoxConfig.hostPCI(config, file: "100.conf").map(\.source) == expected)
    }

    @Test(
        "bad lines name the line",
        arguments: [
            ("hostpci0: pcie=1", "100.conf:1: hostpci0 names no device"),
            ("hostpci0: 01:0g.0", "100.conf:1: '01:0g.0' is not a PCI id"),
            ("hostpci0: host=01:00.0,mapping=gpu", "both a host id and mapping="),
            ("hostpci0: 01:00.0;;", "100.conf:1"),
        ])
    func bad(_ line: String, _ message: String) {
        #expect {
            _ = try ProxmoxConfig.hostPCI(line, file: "100.conf")
        } throws: { error in
            (error as? VFIOError).map { $0.kind == .usage && $0.message.contains(message) } ?? false
        }
    }

    static let mappings = """
        gpu
        \tmap id=10de:2204,node=pve1,path=0000:01:00,subsystem-id=1458:403b
        \tmap id=10de:2204,node=pve2,path=0000:02:00.0
        \tdescription Passthrough GPU

        nic
        \tmap node=pve1,path=0000:05:00.0;0000:06:00.0
        """

    @Test("mappings: map lines per node")
    func mappings() throws {
        let gpu = try ProxmoxConfig.mapping("gpu", in: Self.mappings, file: "pci.cfg")
        #expect(gpu.map(\.node) == ["pve1", "pve2"])
        #expect(gpu[0].path == [.slot(domain: 0, bus: 1, device: 0)] && gpu[0].ids == "10de:2204")
        let nic = try ProxmoxConfig.mapping("nic", in: Self.mappings, file: "pci.cfg")
        #expect(nic == [.init(node: "pve1", path: [.function(PCIAddress("05:00.0")!), .function(PCIAddress("06:00.0")!)], ids: nil)])
        #expect(throws: VFIOError.self) { try ProxmoxConfig.mapping("none", in: Self.mappings, file: "pci.cfg") }
    }
}

@Suite("hook settings and the VM record")
struct HookStateTests {
    @Test("[hooks] in the desired-state file")
    func hooksSection() throws {
        let state = try DesiredState.parse("[hooks]\ndevices = all\ntimeout = 90s\n\n[device 01:00.0]\ndriver = vfio-pci\n", file: "c")
        #expect(state.hooks == HookSettings(scope: .all, timeout: .seconds(90)))
        #expect(state.entries.count == 1)
        #expect(try DesiredState.parse("[defaults]\ntimeout = 5s\n", file: "c").hooks == nil)
        #expect(throws: VFIOError.self) { try DesiredState.parse("[hooks]\ndevices = some\n", file: "c") }
        #expect(throws: VFIOError.self) { try DesiredState.parse("[hooks]\nwait = 5s\n", file: "c") }
    }

    @Test("a state file written before the VM record decodes; the record round-trips")
    func oldStateFile() throws {
        let old = """
            {"schemaVersion":1,"devices":[{"address":"0000:05:00.0","group":19,"originalDriver":"igb","originalOverride":null,
            "boundDriver":"vfio-pci","status":"bound","currentDriver":null,"owner":null,"time":"2026-11-21T15:42:10Z"}]}
            """
        let state = try JSONDecoder().decode(HostState.self, from: Data(old.utf8))
        #expect(state.devices.first?.domain == nil && state.domains.isEmpty)
        var record = try #require(state.devices.first)
        record.domain = "win11"
        let again = try JSONDecoder().decode(DeviceRecord.self, from: JSONEncoder().encode(record))
        #expect(again.domain == "win11")
        #expect(HostState(devices: [again]).domains == [PCIAddress("05:00.0")!: "win11"])
    }
}
