import Testing

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

/// The procfs formats the in-use detector reads, and the wording of the uses it finds, on
/// plain text and values.
@Suite("In-use parsing and rules")
struct InUseParsingTests {
    @Test("octal escapes", arguments: [("/srv/data\\040dir", "/srv/data dir"), ("plain", "plain"), ("a\\011b", "a\tb"), ("tail\\04", "tail\\04")])
    func unescape(_ text: String, _ expected: String) {
        #expect(InUseDetector.unescape(text) == expected)
    }

    @Test("mountinfo: device number, source and mount point, past the optional fields")
    func mountInfo() {
        let text = """
            22 1 259:2 / /srv/data\\040dir rw,relatime shared:1 master:2 - ext4 /dev/nvme0n1p2 rw
            too short
            """
        let mounts = InUseDetector.parseMountInfo(text)
        #expect(mounts.count == 1)
        #expect(mounts.first?.devNumber == "259:2")
        #expect(mounts.first?.source == "/dev/nvme0n1p2")
        #expect(mounts.first?.mountPoint == "/srv/data dir")
        #expect(mounts.first?.fsType == "ext4")
    }

    @Test("/proc/mounts: sources only, no device numbers")
    func procMounts() {
        let mounts = InUseDetector.parseProcMounts("/dev/sda1 /mnt\\040x ext4 rw 0 0\nproc /proc proc rw 0 0\n")
        #expect(mounts.map(\.source) == ["/dev/sda1", "proc"])
        #expect(mounts.map(\.mountPoint) == ["/mnt x", "/proc"])
        #expect(mounts.allSatisfy { $0.devNumber == nil })
    }

    @Test("/proc/swaps: the first column after the header")
    func swaps() {
        let text = "Filename\tType\tSize\tUsed\tPriority\n/dev/nvme0n1p3                               partition\t1048572\t0\t-2\n"
        #expect(InUseDetector.parseSwaps(text) == ["/dev/nvme0n1p3"])
    }

    @Test("an up interface is in use only with an address or a route")
    func networkUse() {
        let nic = PCIAddress("0000:06:00.0")!
        #expect(InUseClassifier.networkUse(nic, interface: "eth0", addresses: [], routes: []) == nil)
        #expect(InUseClassifier.networkUse(nic, interface: "eth0", addresses: ["10.0.2.15/24"], routes: [])?.what == "eth0 is up with address 10.0.2.15/24")
        #expect(InUseClassifier.networkUse(nic, interface: "eth0", addresses: [], routes: ["0.0.0.0/0 via 10.0.2.2"])?.what == "eth0 is up with route 0.0.0.0/0 via 10.0.2.2")
        let both = InUseClassifier.networkUse(nic, interface: "eth0", addresses: ["fd00::1/64"], routes: ["10.0.2.0/24"])
        #expect(both?.what == "eth0 is up with address fd00::1/64 and route 10.0.2.0/24")
        #expect(both?.remedy == "ip link set eth0 down")
    }

    @Test("procfs network facts: link-local and host scopes are not configuration; routes with their gateway")
    func networkFacts() {
        let ifInet6 = """
            fd000000000000000000000000000001 02 40 00 80     eth0
            fe800000000000000000000000000001 02 40 20 80     eth0
            00000000000000000000000000000001 01 80 10 80       lo
            """
        let route = """
            Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
            eth0\t00000000\t0202000A\t0003\t0\t0\t100\t00000000\t0\t0\t0
            eth0\t0002000A\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0
            """
        let facts = NetworkFacts.parse(ifInet6: ifInet6, route: route)
        #expect(facts.addresses == ["eth0": ["fd00::1/64"]])
        #expect(facts.routes == ["eth0": ["0.0.0.0/0 via 10.0.2.2", "10.0.2.0/24"]])
    }

    @Test("a framebuffer names the bound console in its remedy")
    func framebuffer() {
        let gpu = PCIAddress("0000:01:00.0")!
        let use = InUseClassifier.framebufferUse(gpu, framebuffer: "fb0", driverName: "nouveaudrmfb", console: "vtcon1")
        #expect(use.what == "fb0 (nouveaudrmfb) is a framebuffer on it; the console may be drawing on it (vtcon1 is bound)")
        #expect(use.remedy == "echo 0 > /sys/class/vtconsole/vtcon1/bind, and stop the display server")
        #expect(InUseClassifier.framebufferUse(gpu, framebuffer: "fb0", driverName: nil, console: nil).remedy == "move the console off it and stop the display server")
    }
}
