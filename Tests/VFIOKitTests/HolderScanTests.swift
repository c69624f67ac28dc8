import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// The desktop layout's VFIO function: 0000:07:02.1 on vfio-pci, `vfio0`, alone in group 24.
private let vf = PCIAddress("0000:07:02.1")!

private func vfioHost() throws -> FixtureHost { try FixtureHost.desktopWithVFIONodes() }

/// A process with the usual non-VFIO fds around whatever a test adds.
private func addBystander(_ host: FixtureHost, _ pid: Int32, comm: String = "bash") {
    host.addProcess(pid, comm: comm)
    host.addFD(pid, 0, to: "/dev/null")
    host.addFDLink(pid, 1, text: "pipe:[4242]")
    host.addFDLink(pid, 2, text: "socket:[777]")
    host.addFDLink(pid, 3, text: "anon_inode:[eventfd]")
    host.addFD(pid, 4, to: "/sys/bus/pci/devices/0000:07:02.1/enable")
    host.setMaps(pid, ["55d0c0000000-55d0c0021000 r-xp 00000000 fe:01 1234   /usr/bin/" + comm])
}

private func addQEMU(_ host: FixtureHost, _ pid: Int32, attributed: Bool) {
    host.addQEMU(pid, group: 24, device: vf, attributed: attributed)
}

@Suite("Holder scan over a fixture /proc")
struct HolderScanTests {
    @Test("a QEMU on 6.18+: group fd, fdinfo-attributed device fd and container, with pid details")
    func qemuAttributed() throws {
        let host = try vfioHost()
        addQEMU(host, 4242, attributed: true)
        addBystander(host, 100)
        host.setEnable(vf, 1)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(!report.isFree)
        #expect(report.targets.map(\.state) == [.held])
        #expect(report.targets[0].holders == [4242])
        #expect(report.targets[0].open)
        #expect(report.likelyHolders.isEmpty)
        let qemu = try #require(report.holders.first)
        #expect(report.holders.count == 1)
        #expect(qemu.pid == 4242)
        #expect(qemu.command == "qemu-system-x86")
        #expect(qemu.commandLine?.first == "/usr/bin/qemu-system-x86_64")
        #expect(qemu.vmName == "win11")
        #expect(qemu.cgroup == "/machine.slice/machine-qemu\\x2d1\\x2dwin11.scope/libvirt/emulator")
        #expect(qemu.unit == "machine-qemu\\x2d1\\x2dwin11.scope")
        // btime + 123456 ticks at USER_HZ 100.
        #expect(qemu.startedAt == Int64(1_700_000_000 + 1234), "\(String(describing: qemu.startedAt))")
        let byFD = Dictionary(uniqueKeysWithValues: qemu.handles.compactMap { h in h.fd.map { ($0, h) } })
        #expect(byFD[25] == HeldHandle(kind: .group, fd: 25, path: "/dev/vfio/24", group: 24))
        #expect(byFD[27] == HeldHandle(kind: .device, fd: 27, path: "anon_inode:[vfio-device]", device: vf))
        #expect(byFD[24]?.kind == .container)
        #expect(byFD[24]?.path == "/dev/vfio/vfio")
        #expect(qemu.handles.count == 3, "no bystander fds: \(qemu.handles)")
        #expect(report.stats.processes == 2)
        #expect(report.stats.vanished == 0 && report.stats.unreadable == 0)
    }

    @Test("before 6.18 the device fd is anonymous: the group fd still names the holder, and other processes with anonymous device fds are likely holders")
    func unattributedDeviceFDs() throws {
        let host = try vfioHost()
        addQEMU(host, 4242, attributed: false)
        // An anonymous device fd and no group open: could be ours.
        host.addProcess(5000, comm: "dpdk-app")
        host.addAnonDeviceFD(5000, 9, syspathOf: nil)
        // An anonymous device fd next to another group's node: probably that group's device.
        try host.addVFIOGroupNode(23)
        host.addProcess(6000, comm: "other-vm")
        host.addFD(6000, 3, to: "/dev/vfio/23")
        host.addAnonDeviceFD(6000, 4, syspathOf: nil)
        host.setEnable(vf, 1)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets.map(\.state) == [.held])
        #expect(report.holders.map(\.pid) == [4242])
        let anon = try #require(report.holders[0].handles.first { $0.fd == 27 })
        #expect(anon.kind == .device && anon.device == nil)
        #expect(report.likelyHolders.map(\.pid) == [5000])
        #expect(report.watchPids == [4242, 5000])
    }

    @Test("open with no fd naming it and no group holder: open-unattributed, likely holders listed")
    func openUnattributed() throws {
        let host = try vfioHost()
        host.addProcess(5000, comm: "spdk_tgt")
        host.addAnonDeviceFD(5000, 9, syspathOf: nil)
        addBystander(host, 100)
        host.setEnable(vf, 1)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets.map(\.state) == [.openUnattributed])
        #expect(report.holders.isEmpty)
        #expect(report.likelyHolders.map(\.pid) == [5000])
        #expect(report.likelyHolders[0].command == "spdk_tgt")
        #expect(!report.isFree)
    }

    @Test("an fd attributed to another device is not a hold on this one, and enable 0 means not open")
    func attributedElsewhere() throws {
        let host = try vfioHost()
        host.addProcess(5000, comm: "vm")
        host.addAnonDeviceFD(5000, 9, syspathOf: PCIAddress("0000:05:00.0")!)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets.map(\.state) == [.free])
        #expect(report.isFree)
        #expect(report.holders.isEmpty && report.likelyHolders.isEmpty)
    }

    @Test("open, no fd at all: every process's maps are read and a mapping-only holder is found")
    func mappingOnlyHolder() throws {
        let host = try vfioHost()
        for pid in Int32(100)..<Int32(110) { addBystander(host, pid) }
        host.addProcess(7000, comm: "mapper")
        host.setMaps(
            7000,
            [
                "55d0c0000000-55d0c0021000 r-xp 00000000 fe:01 1234   /usr/bin/mapper",
                "7f3c2c000000-7f3c2c001000 rw-s 00000000 00:0e 1038   anon_inode:[vfio-device]",
                "7f3c2c001000-7f3c2c002000 rw-s 00001000 00:0e 1038   anon_inode:[vfio-device]",
                "7ffd0000000-7ffd0021000 rw-p 00000000 00:00 0      [stack]",
            ])
        host.setEnable(vf, 1)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets.map(\.state) == [.openUnattributed])
        #expect(report.likelyHolders.map(\.pid) == [7000])
        #expect(report.likelyHolders[0].handles == [HeldHandle(kind: .mapping, path: "anon_inode:[vfio-device]", range: "7f3c2c000000-7f3c2c001000")])
        // Eleven processes, and every maps file read because nothing else explained the open device.
        #expect(report.stats.mapsRead == 11)

        // With the device closed, no maps are read at all.
        host.setEnable(vf, 0)
        let idle = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(idle.isFree)
        #expect(idle.stats.mapsRead == 0)
    }

    @Test("a mapped cdev is attributed through map_files' device number, or by name when map_files is closed")
    func mappedCdev() throws {
        let host = try vfioHost()
        host.addProcess(8000, comm: "iommufd-vmm")
        host.setMaps(8000, ["7f0000000000-7f0000001000 rw-s 00000000 00:05 321   /dev/vfio/devices/vfio0"])
        host.addMapFile(8000, range: "7f0000000000-7f0000001000", to: "/dev/vfio/devices/vfio0")
        host.addProcess(8001, comm: "closed-map")
        host.setMaps(8001, ["0000a000-0000b000 rw-s 00000000 00:05 321   /dev/vfio/devices/vfio0 (deleted)"])
        host.setEnable(vf, 1)
        let report = try HolderFinder(root: host.root, options: .init(mappings: .all), deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets.map(\.state) == [.held])
        #expect(report.holders.map(\.pid) == [8000, 8001])
        #expect(report.holders[0].handles == [HeldHandle(kind: .mapping, path: "/dev/vfio/devices/vfio0", device: vf, range: "7f0000000000-7f0000001000")])
        #expect(report.holders[1].handles.first?.device == vf)
    }

    @Test("nodes are matched by device number wherever they live: a container's own mknod'ed group node and cdev")
    func matchByNumber() throws {
        let host = try vfioHost()
        // As runc does: its own nodes with the host's numbers, inside the container's rootfs.
        try host.makeCharNode("/var/lib/ctr/rootfs/dev/vfio/24", major: 510, minor: 24)
        try host.makeCharNode("/var/lib/ctr/rootfs/dev/vfio/devices/vfio0", major: 511, minor: 0)
        // A node with the group's name but another number is not the group.
        try host.makeCharNode("/var/lib/ctr/rootfs/dev/vfio/decoy", major: 510, minor: 99)
        host.addProcess(300, comm: "containerd-shim")
        host.addFD(300, 7, to: "/var/lib/ctr/rootfs/dev/vfio/24")
        host.addFD(300, 8, to: "/var/lib/ctr/rootfs/dev/vfio/devices/vfio0")
        host.addProcess(301, comm: "decoy")
        host.addFD(301, 3, to: "/var/lib/ctr/rootfs/dev/vfio/decoy")
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.holders.map(\.pid) == [300])
        let kinds = report.holders[0].handles.map(\.kind)
        #expect(kinds == [.group, .cdev] || kinds == [.cdev, .group])
        #expect(report.holders[0].handles.first { $0.kind == .cdev }?.device == vf)
        #expect(report.holders[0].handles.first { $0.kind == .group }?.path == "/var/lib/ctr/rootfs/dev/vfio/24")
    }

    @Test("a group-only holder holds the group node; the device itself is not open")
    func groupOnly() throws {
        let host = try vfioHost()
        host.addProcess(400, comm: "holder")
        host.addFD(400, 3, to: "/dev/vfio/24")
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets[0].state == .held)
        #expect(!report.targets[0].open)
        #expect(report.holders.map(\.pid) == [400])
        #expect(report.holders[0].handles.map(\.kind) == [.group])
    }

    @Test("no-IOMMU groups: /dev/vfio/noiommu-N from /sys/class/vfio/noiommu-N")
    func noiommuGroup() throws {
        let host = FixtureLayout.desktop.build()
        let node = try host.addVFIOGroupNode(24, noiommu: true)
        #expect(node == "/dev/vfio/noiommu-24")
        host.addProcess(400, comm: "dpdk")
        host.addFD(400, 3, to: node)
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets[0].target.groupNode?.path == "/dev/vfio/noiommu-24")
        #expect(report.holders.first?.handles.first == HeldHandle(kind: .group, fd: 3, path: "/dev/vfio/noiommu-24", group: 24))
    }

    @Test("the group node's number comes from /dev when sysfs has no class directory")
    func groupNodeFromDev() throws {
        let host = FixtureLayout.desktop.build()
        try host.makeCharNode("/dev/vfio/24", major: 510, minor: 24)
        host.addProcess(400, comm: "holder")
        host.addFD(400, 3, to: "/dev/vfio/24")
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.targets[0].target.groupNode == VFIONode(path: "/dev/vfio/24", number: DeviceNumber(major: 510, minor: 24)))
        #expect(report.holders.map(\.pid) == [400])
    }

    @Test("a device not bound to VFIO whose group has no node cannot be held; a removed one is gone")
    func notVFIOAndGone() throws {
        let host = try vfioHost()
        addQEMU(host, 4242, attributed: true)
        let nic = PCIAddress("0000:05:00.0")!
        let missing = PCIAddress("0000:7f:00.0")!
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([nic, missing])
        #expect(report.targets.map(\.state) == [.notVFIO, .gone])
        #expect(report.isFree)
        #expect(report.holders.isEmpty)
    }

    @Test("vanished processes (no fd/), non-numeric entries and hundreds of fds")
    func vanishedAndManyFDs() throws {
        let host = try vfioHost()
        host.write("/proc/777/comm", "gone\n")  // a pid directory whose fd/ is already gone
        host.write("/proc/sys/kernel/pid_max", "4194304\n")
        symlink("777", host.path + "/proc/self")
        host.addProcess(900, comm: "busy")
        for fd in Int32(0)..<Int32(600) {
            switch fd {
            case 17, 333: host.addFD(900, fd, to: "/dev/vfio/24")
            case 598: host.addAnonDeviceFD(900, fd, syspathOf: vf)
            case let n where n % 3 == 0: host.addFDLink(900, fd, text: "socket:[\(n)]")
            case let n where n % 3 == 1: host.addFD(900, fd, to: "/dev/null")
            default: host.addFD(900, fd, to: "/etc")
            }
        }
        host.setEnable(vf, 1)  // fd 598 has the device open
        let report = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(report.stats.vanished == 1)
        #expect(report.stats.processes == 1)
        #expect(report.holders.map(\.pid) == [900])
        #expect(report.holders[0].handles.compactMap(\.fd).sorted() == [17, 333, 598])
    }

    @Test("the fd pass split over threads finds what one thread finds, in /proc order", arguments: [2, 3, 8])
    func threadedScan(threads: Int) throws {
        let host = try vfioHost()
        for pid in Int32(100)..<Int32(400) {
            addBystander(host, pid)
            if pid % 37 == 0 { host.addFD(pid, 9, to: "/dev/vfio/24") }
        }
        host.removeProcess(250)
        host.write("/proc/250/comm", "gone\n")  // a process whose fd/ is already gone
        let serial = try HolderFinder(root: host.root, options: .init(threads: 1), deviceNumbers: host.deviceNumbers).find([vf])
        let split = try HolderFinder(root: host.root, options: .init(threads: threads), deviceNumbers: host.deviceNumbers).find([vf])
        #expect(serial.holders.map(\.pid) == [111, 148, 185, 222, 259, 296, 333, 370])
        #expect(split.holders == serial.holders)
        #expect(split.targets == serial.targets)
        #expect(split.stats == serial.stats)
        #expect(split.stats.processes == 299 && split.stats.vanished == 1)
    }

    @Test("processes this user may not read are counted, not fatal", .enabled(if: geteuid() == 0, "needs root to switch the filesystem uid"))
    func unreadable() throws {
        let host = try vfioHost()
        addQEMU(host, 4242, attributed: true)
        host.addProcess(888, comm: "secret")
        host.addFD(888, 3, to: "/dev/vfio/24")
        chmod(host.path, 0o755)
        chmod(host.path + "/proc/888/fd", 0)
        // Root bypasses permission bits, so read as nobody. setfsuid is per thread and this
        // test does not suspend, so nothing else runs with it.
        let report = try withFilesystemUser(65534) { try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf]) }
        #expect(report.stats.unreadable == 1)
        #expect(report.stats.unreadablePids == [888])
        #expect(report.holders.map(\.pid) == [4242])
    }

    @Test("the real /proc: a scan finishes, counts processes, and finds nothing for an unused device")
    func realProc() throws {
        let host = try vfioHost()
        removeTreeLink(host.path + "/proc")
        symlink("/proc", host.path + "/proc")
        // Real device numbers: this test process keeps its fixture's stand-in files open, and no
        // process on the machine has a real 510:24 or 511:0 node open.
        let report = try HolderFinder(root: host.root).find([vf])
        #expect(report.stats.processes > 1)
        #expect(report.holders.isEmpty)
        #expect(report.isFree)
    }

    @Test("real character nodes count by st_rdev, with the fixture's stand-ins or without", arguments: [false, true])
    func realNodes(standIns: Bool) throws {
        // Group 24's node has the number of /dev/full and vfio0 that of /dev/zero; the processes
        // hold the machine's own nodes.
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24, major: 1, minor: 7, makeNode: false)
        let deviceDir = try #require(host.devicePath(vf)).dropFirst(host.path.count)
        host.write(deviceDir + "/vfio-dev/vfio0/dev", "1:5\n")
        host.addProcess(500, comm: "real-holder")
        host.addFDLink(500, 3, text: "/dev/full")
        host.addFDLink(500, 4, text: "/dev/zero")
        host.addFDLink(500, 5, text: "/dev/null")
        host.addProcess(501, comm: "bystander")
        host.addFDLink(501, 0, text: "/dev/null")
        // Mappings: map_files names the mapped node, whatever maps says.
        let line = "7f0000000000-7f0000001000 rw-s 00000000 00:05 321   /dev/vfio/devices/vfio0"
        host.addProcess(502, comm: "mapper")
        host.setMaps(502, [line])
        host.addFDLink(502, 0, text: "/dev/null")
        symlinkMapFile(host, 502, "7f0000000000-7f0000001000", to: "/dev/zero")
        host.addProcess(503, comm: "other-map")
        host.setMaps(503, [line])
        symlinkMapFile(host, 503, "7f0000000000-7f0000001000", to: "/dev/null")
        let numbers = standIns ? host.deviceNumbers : .real
        let report = try HolderFinder(root: host.root, options: .init(mappings: .all), deviceNumbers: numbers).find([vf])
        #expect(report.holders.map(\.pid) == [500, 502])
        #expect(
            report.holders.first?.handles == [
                HeldHandle(kind: .group, fd: 3, path: "/dev/full", group: 24),
                HeldHandle(kind: .cdev, fd: 4, path: "/dev/zero", device: vf),
            ])
        #expect(report.holders.last?.handles == [HeldHandle(kind: .mapping, path: "/dev/vfio/devices/vfio0", device: vf, range: "7f0000000000-7f0000001000")])
    }

    @Test("without the fixture's device numbers its stand-in files are plain files, not nodes")
    func standInsNeedTheSeam() throws {
        let host = try vfioHost()
        host.addProcess(400, comm: "holder")
        host.addFD(400, 3, to: "/dev/vfio/24")
        host.addFD(400, 4, to: "/dev/vfio/devices/vfio0")
        symlink("/dev/full", host.path + "/dev/vfio/23")
        let real = HolderTargetReader(root: host.root).groupNodes()
        #expect(real[24] == VFIONode(path: "/dev/vfio/24", number: DeviceNumber(major: 510, minor: 24)), "from sysfs")
        #expect(real[23] == VFIONode(path: "/dev/vfio/23", number: DeviceNumber(major: 1, minor: 7)), "from /dev, by st_rdev")
        #expect(try HolderFinder(root: host.root).find([vf]).isFree)
        let seam = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        #expect(seam.holders.map(\.pid) == [400])
        #expect(seam.holders.first?.handles.map(\.kind) == [.group, .cdev])
    }

    @Test("no /proc under the root is 'unavailable' (69)")
    func noProc() throws {
        let host = try vfioHost()
        removeTreeLink(host.path + "/proc")
        #expect(throws: VFIOError.self) { try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf]) }
        do {
            _ = try HolderFinder(root: host.root, deviceNumbers: host.deviceNumbers).find([vf])
        } catch {
            #expect(error.exitCode == 69)
        }
    }
}

/// Removes an (empty or fixture) directory or a link.
private func removeTreeLink(_ path: String) {
    var st = stat()
    if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
        for entry in Sysfs.list(path) ?? [] { removeTreeLink(path + "/" + entry) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// `/proc/PID/map_files/RANGE` → a path outside the fixture (a real node).
private func symlinkMapFile(_ host: FixtureHost, _ pid: Int32, _ range: String, to target: String) {
    let dir = host.path + "/proc/" + String(pid) + "/map_files"
    mkdir(dir, 0o755)
    symlink(target, dir + "/" + range)
}
