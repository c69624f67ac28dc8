import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

/// Host processes holding functions on their host drivers, through the host's own nodes of
/// them, found in the same /proc pass as VFIO holders.
@Suite("Host holders: device nodes of host-bound functions")
struct HostHolderTests {
    static let gpu = PCIAddress("0000:01:00.0")!
    static let audio = PCIAddress("0000:01:00.1")!
    static let nvme = PCIAddress("0000:02:00.0")!
    static let usb = PCIAddress("0000:08:00.0")!
    static let vf = PCIAddress("0000:07:02.1")!

    func finder(_ host: FixtureHost, hostNodes: Bool = true) -> HolderFinder {
        HolderFinder(root: host.root, options: .init(hostNodes: hostNodes), deviceNumbers: host.deviceNumbers)
    }

    /// The desktop with the GPU's DRM nodes, the audio function's sound control node and an NVMe
    /// with its controller node, a namespace with two partitions and LVM on the second.
    func desktop() throws -> FixtureHost {
        let host = try FixtureHost.desktopWithVFIONodes()
        try host.addCharDevice(on: Self.gpu, subpath: "drm/card0", dev: "226:0", devName: "dri/card0")
        try host.addCharDevice(on: Self.gpu, subpath: "drm/renderD128", dev: "226:128", devName: "dri/renderD128")
        try host.addCharDevice(on: Self.audio, subpath: "sound/card1/controlC1", dev: "116:7", devName: "snd/controlC1")
        try host.addCharDevice(on: Self.nvme, subpath: "nvme/nvme0", dev: "241:0", devName: "nvme0")
        host.addDisk("nvme0n1", on: Self.nvme, subpath: "nvme/nvme0", dev: "259:0", partitions: [("nvme0n1p1", "259:1"), ("nvme0n1p2", "259:2")])
        host.addDeviceMapper("dm-0", dmName: "vg-data", dev: "253:0", over: ["nvme0n1p2"])
        try host.makeBlockNodes(["nvme0n1", "nvme0n1p1", "nvme0n1p2", "dm-0"])
        return host
    }

    func addProcess(_ host: FixtureHost, _ pid: Int32, _ comm: String, unit: String = "user.slice/session-1.scope", fds: [Int32: String]) {
        host.addProcess(pid, comm: comm, cgroup: "0::/" + unit)
        host.addFD(pid, 0, to: "/dev/null")
        for (fd, path) in fds { host.addFD(pid, fd, to: path) }
    }

    @Test("a display server with the DRM card and render node open: host-held, both nodes named, with its unit")
    func drm() throws {
        let host = try desktop()
        addProcess(host, 812, "Xorg", unit: "system.slice/display-manager.service", fds: [11: "/dev/dri/card0", 12: "/dev/dri/renderD128"])
        addProcess(host, 900, "bash", fds: [:])
        let report = try finder(host).find([Self.gpu])
        #expect(report.targets.map(\.state) == [.hostHeld])
        #expect(report.targets[0].holders == [812])
        #expect(!report.isFree)
        #expect(report.targets[0].target.hostNodes.map(\.path) == ["/dev/dri/card0", "/dev/dri/renderD128"])
        let xorg = try #require(report.holders.first)
        #expect(xorg.unit == "display-manager.service")
        #expect(
            xorg.handles == [
                HeldHandle(kind: .hostNode, fd: 11, path: "/dev/dri/card0", device: Self.gpu),
                HeldHandle(kind: .hostNode, fd: 12, path: "/dev/dri/renderD128", device: Self.gpu),
            ])
        #expect(report.summary == "0000:01:00.0 is in use on the host by pid 812 (Xorg) through /dev/dri/card0")
    }

    @Test("without the host-nodes option the scan is what it was: a host-bound device is not-vfio")
    func optIn() throws {
        let host = try desktop()
        addProcess(host, 812, "Xorg", fds: [11: "/dev/dri/card0"])
        let report = try finder(host, hostNodes: false).find([Self.gpu])
        #expect(report.targets.map(\.state) == [.notVFIO])
        #expect(report.holders.isEmpty)
        #expect(report.targets[0].target.hostNodes.isEmpty)
    }

    @Test("a mapping of the render node with its fd closed still holds the GPU (map_files, then the path)")
    func drmMapping() throws {
        let host = try desktop()
        addProcess(host, 700, "gnome-shell", fds: [:])
        host.setMaps(700, ["7f0000000000-7f0000100000 rw-s 100000000 00:05 451   /dev/dri/renderD128"])
        host.addMapFile(700, range: "7f0000000000-7f0000100000", to: "/dev/dri/renderD128")
        addProcess(host, 701, "kwin", fds: [:])
        host.setMaps(701, ["7f1000000000-7f1000100000 rw-s 00000000 00:05 450   /dev/dri/card0"])
        let report = try finder(host).find([Self.gpu])
        #expect(report.targets[0].holders == [700, 701])
        #expect(report.holders.map { $0.handles.map(\.kind) } == [[.hostNode], [.hostNode]])
        #expect(report.holders.map { $0.handles.first?.range } == ["7f0000000000-7f0000100000", "7f1000000000-7f1000100000"])
        #expect(report.stats.mapsRead == 2)
    }

    @Test("a sound server with the control node open holds the audio function, not the GPU")
    func sound() throws {
        let host = try desktop()
        addProcess(host, 1500, "pipewire", unit: "user.slice/user-1000.slice/user@1000.service/session.slice/pipewire.service", fds: [30: "/dev/snd/controlC1"])
        let report = try finder(host).find([Self.gpu, Self.audio])
        #expect(report.targets.map(\.state) == [.notVFIO, .hostHeld])
        #expect(report.targets[1].holders == [1500])
        #expect(report.holders.first?.handles.first?.path == "/dev/snd/controlC1")
    }

    @Test(
        "NVMe: the controller node, the raw namespace, a partition and an LVM volume on it each hold the function",
        arguments: ["/dev/nvme0", "/dev/nvme0n1", "/dev/nvme0n1p1", "/dev/dm-0"])
    func nvmeNodes(node: String) throws {
        let host = try desktop()
        addProcess(host, 2000, "postgres", unit: "system.slice/postgresql.service", fds: [9: node])
        let report = try finder(host).find([Self.nvme])
        #expect(report.targets.map(\.state) == [.hostHeld])
        #expect(report.holders.first?.handles == [HeldHandle(kind: .hostNode, fd: 9, path: node, device: Self.nvme)])
    }

    @Test("the NVMe's host nodes: controller (char), namespace, partitions and the dm device above, with how it is stacked")
    func nvmeNodeList() throws {
        let host = try desktop()
        let nodes = try #require(HostNodeReader(root: host.root).nodes(of: [Self.nvme])[Self.nvme])
        #expect(
            nodes == [
                HostNode(kind: .block, path: "/dev/dm-0", number: DeviceNumber(major: 253, minor: 0), via: "dm-0 (vg-data) on nvme0n1p2"),
                HostNode(kind: .block, path: "/dev/nvme0n1", number: DeviceNumber(major: 259, minor: 0)),
                HostNode(kind: .block, path: "/dev/nvme0n1p1", number: DeviceNumber(major: 259, minor: 1)),
                HostNode(kind: .block, path: "/dev/nvme0n1p2", number: DeviceNumber(major: 259, minor: 2)),
                HostNode(kind: .char, path: "/dev/nvme0", number: DeviceNumber(major: 241, minor: 0)),
            ])
        // Nothing of the NVMe's belongs to the GPU, and a function without nodes has none.
        #expect(HostNodeReader(root: host.root).nodes(of: [Self.gpu])[Self.gpu]?.map(\.path) == ["/dev/dri/card0", "/dev/dri/renderD128"])
        #expect(HostNodeReader(root: host.root).nodes(of: [PCIAddress("0000:05:00.0")!])[PCIAddress("0000:05:00.0")!] == [])
    }

    @Test("an NVMe multipath head (under nvme-subsystem) belongs to the controller it has a path through")
    func multipathHead() throws {
        let host = try FixtureHost.desktopWithVFIONodes()
        try host.addCharDevice(on: Self.nvme, subpath: "nvme/nvme0", dev: "241:0", devName: "nvme0")
        host.addMultipathNamespace(
            "nvme0n1", pathName: "nvme0c0n1", subsystem: "nvme-subsys0", on: Self.nvme, controller: "nvme0", dev: "259:0",
            partitions: [("nvme0n1p1", "259:1")])
        try host.makeBlockNodes(["nvme0n1", "nvme0n1p1"])
        let nodes = HostNodeReader(root: host.root).nodes(of: [Self.nvme])[Self.nvme]?.map(\.path)
        #expect(nodes == ["/dev/nvme0n1", "/dev/nvme0n1p1", "/dev/nvme0"])
        addProcess(host, 2000, "qemu-system-x86", fds: [9: "/dev/nvme0n1"])
        #expect(try finder(host).find([Self.nvme]).targets.map(\.state) == [.hostHeld])
    }

    @Test("a USB device below a USB controller (its bus node) holds the controller")
    func usbBelowController() throws {
        let host = try desktop()
        try host.addCharDevice(on: Self.usb, subpath: "usb1/1-1", dev: "189:1", devName: "bus/usb/001/002")
        addProcess(host, 3000, "qemu-system-x86", fds: [40: "/dev/bus/usb/001/002"])
        let report = try finder(host).find([Self.usb])
        #expect(report.targets.map(\.state) == [.hostHeld])
        #expect(report.holders.first?.handles.first?.path == "/dev/bus/usb/001/002")
    }

    @Test("nodes but nobody has them open: not-vfio (free), with the nodes listed")
    func nodesButFree() throws {
        let host = try desktop()
        addProcess(host, 900, "bash", fds: [3: "/dev/null"])
        let report = try finder(host).find([Self.nvme])
        #expect(report.targets.map(\.state) == [.notVFIO])
        #expect(report.isFree)
        #expect(report.targets[0].target.hostNodes.count == 5)
    }

    @Test("a block node's number does not match a character node with the same number, nor the other way")
    func charAndBlockApart() throws {
        let host = try desktop()
        // A character node that happens to carry the namespace's block number (259:0).
        try host.makeCharNode("/dev/other", major: 259, minor: 0)
        addProcess(host, 4000, "cat", fds: [3: "/dev/other"])
        // Stand-ins do not tell char from block, so this only checks that an unrelated number
        // does not match: give the controller node's twin a different minor.
        try host.makeCharNode("/dev/unrelated", major: 241, minor: 9)
        addProcess(host, 4001, "cat", fds: [3: "/dev/unrelated"])
        let report = try finder(host).find([Self.nvme])
        #expect(!report.targets[0].holders.contains(4001))
    }

    @Test("VFIO holders and host holders come out of one scan")
    func oneWalk() throws {
        let host = try desktop()
        host.addQEMU(4242, group: 24, device: Self.vf, attributed: true)
        host.setEnable(Self.vf, 1)
        addProcess(host, 812, "Xorg", fds: [11: "/dev/dri/card0"])
        let report = try finder(host).find([Self.vf, Self.gpu])
        #expect(report.targets.map(\.state) == [.held, .hostHeld])
        #expect(report.holders.map(\.pid) == [812, 4242])
        #expect(report.stats.processes == 2)
        #expect(report.restricted(to: Self.gpu)?.holders.map(\.pid) == [812])
        #expect(report.restricted(to: Self.vf)?.holders.map(\.pid) == [4242])
    }

    @Test("a function with no nodes that is not on VFIO: the answer needs no walk over /proc")
    func noWalk() throws {
        let host = try desktop()
        addProcess(host, 900, "bash", fds: [:])
        let report = try finder(host).find([PCIAddress("0000:05:00.0")!])
        #expect(report.targets.map(\.state) == [.notVFIO])
        #expect(report.stats.processes == 0)
    }

    @Test("uevent DEVNAME: relative names only")
    func devName() {
        #expect(HostNodeReader.devName("MAJOR=226\nMINOR=0\nDEVNAME=dri/card0\nDEVTYPE=drm_minor\n") == "dri/card0")
        #expect(HostNodeReader.devName("DEVNAME=../etc/passwd\n") == nil)
        #expect(HostNodeReader.devName("DEVNAME=/abs\n") == nil)
        #expect(HostNodeReader.devName("MAJOR=1\n") == nil)
    }
}
