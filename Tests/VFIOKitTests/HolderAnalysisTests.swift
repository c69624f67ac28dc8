import Testing

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

private let a = PCIAddress("0000:01:00.0")!
private let b = PCIAddress("0000:01:00.1")!

private func target(_ address: PCIAddress, bound: Bool = true, group: Int? = 12, node: Bool = true, enable: Int? = 0) -> HolderTarget {
    HolderTarget(
        address: address, driver: bound ? "vfio-pci" : "snd_hda_intel", vfioBound: bound, group: group,
        groupNode: node ? VFIONode(path: "/dev/vfio/12", number: DeviceNumber(major: 243, minor: 12)) : nil, enableCount: enable)
}

private func groupFD(_ fd: Int32, _ group: Int = 12) -> HeldHandle { HeldHandle(kind: .group, fd: fd, path: "/dev/vfio/\(group)", group: group) }
private func deviceFD(_ fd: Int32, _ device: PCIAddress?) -> HeldHandle { HeldHandle(kind: .device, fd: fd, path: "anon_inode:[vfio-device]", device: device) }
private let container = HeldHandle(kind: .container, fd: 3, path: "/dev/vfio/vfio")

@Suite("Holder verdicts (pure)")
struct HolderAnalysisTests {
    @Test("a group fd holds every member of the group, open or not")
    func groupHoldsMembers() {
        let verdict = HolderAnalysis.classify(
            targets: [target(a, enable: 1), target(b)], processes: [ScannedProcess(pid: 10, handles: [container, groupFD(4), deviceFD(5, a)])])
        #expect(verdict.targets.map(\.state) == [.held, .held])
        #expect(verdict.targets.map(\.open) == [true, false])
        #expect(verdict.holders.map(\.pid) == [10])
        #expect(verdict.holders[0].handles.count == 3)
    }

    @Test("a container fd alone holds nothing")
    func containerAlone() {
        let verdict = HolderAnalysis.classify(targets: [target(a)], processes: [ScannedProcess(pid: 10, handles: [container])])
        #expect(verdict.targets.map(\.state) == [.free])
        #expect(verdict.holders.isEmpty && verdict.likelyHolders.isEmpty)
    }

    @Test("another group's fd is not a hold on this one")
    func otherGroup() {
        let verdict = HolderAnalysis.classify(targets: [target(a)], processes: [ScannedProcess(pid: 10, handles: [groupFD(4, 13)])])
        #expect(verdict.targets.map(\.state) == [.free])
    }

    @Test("a cdev or an attributed fd holds only its device")
    func deviceLevel() {
        let cdev = HeldHandle(kind: .cdev, fd: 6, path: "/dev/vfio/devices/vfio1", device: b)
        let verdict = HolderAnalysis.classify(
            targets: [target(a, node: false), target(b, node: false, enable: 1)], processes: [ScannedProcess(pid: 20, handles: [cdev])])
        #expect(verdict.targets.map(\.state) == [.free, .held])
        #expect(verdict.targets[1].holders == [20])
    }

    @Test("open with nothing attributed and no anonymous fds: open-unattributed, nobody likely")
    func invisibleHolder() {
        let verdict = HolderAnalysis.classify(targets: [target(a, enable: 1)], processes: [])
        #expect(verdict.targets.map(\.state) == [.openUnattributed])
        #expect(verdict.likelyHolders.isEmpty)
        #expect(HolderAnalysis.mapsNeeded(targets: [target(a, enable: 1)], processes: []) == .all)
    }

    @Test("likely holders: unattributed device fds with this group or no group; not those with only other groups")
    func likelyNarrowing() {
        let processes = [
            ScannedProcess(pid: 30, handles: [deviceFD(7, nil)]),
            ScannedProcess(pid: 31, handles: [groupFD(3, 13), deviceFD(7, nil)]),
            ScannedProcess(pid: 32, handles: [deviceFD(7, b)]),
        ]
        let verdict = HolderAnalysis.classify(targets: [target(a, enable: 1)], processes: processes)
        #expect(verdict.targets.map(\.state) == [.openUnattributed])
        #expect(verdict.likelyHolders.map(\.pid) == [30])
        // Only candidates with other groups: all of them, rather than none.
        let onlyOthers = HolderAnalysis.classify(targets: [target(a, enable: 1)], processes: [processes[1]])
        #expect(onlyOthers.likelyHolders.map(\.pid) == [31])
        // The device is closed: nobody is "likely".
        #expect(HolderAnalysis.classify(targets: [target(a, enable: 0)], processes: processes).likelyHolders.isEmpty)
    }

    @Test("unknown enable: open exactly when some device fd is unaccounted for")
    func unknownEnable() {
        let none = HolderAnalysis.classify(targets: [target(a, enable: nil)], processes: [])
        #expect(none.targets.map(\.state) == [.free])
        let some = HolderAnalysis.classify(targets: [target(a, enable: nil)], processes: [ScannedProcess(pid: 30, handles: [deviceFD(7, nil)])])
        #expect(some.targets.map(\.state) == [.openUnattributed])
    }

    @Test("not VFIO-bound and no group node: not-vfio whatever enable says; with a node, the group's holders still count")
    func notVFIO() {
        let host = target(b, bound: false, node: false, enable: 1)
        let verdict = HolderAnalysis.classify(targets: [host], processes: [ScannedProcess(pid: 10, handles: [groupFD(4)])])
        #expect(verdict.targets.map(\.state) == [.notVFIO])
        #expect(verdict.targets[0].open == false)
        // Mid-unbind, the driver link is gone but /dev/vfio/12 is still there.
        let unbinding = target(b, bound: false, node: true, enable: 1)
        let held = HolderAnalysis.classify(targets: [unbinding], processes: [ScannedProcess(pid: 10, handles: [groupFD(4)])])
        #expect(held.targets.map(\.state) == [.held])
    }

    @Test("maps: none for closed devices, the device-fd processes when explained, everyone when not")
    func mapsScope() {
        let explained = [ScannedProcess(pid: 10, handles: [groupFD(4), deviceFD(5, a)]), ScannedProcess(pid: 11, handles: [groupFD(4, 13)])]
        #expect(HolderAnalysis.mapsNeeded(targets: [target(a, enable: 0)], processes: explained) == .none)
        #expect(HolderAnalysis.mapsNeeded(targets: [target(a, enable: 1)], processes: explained) == .some([10]))
        let anonymous = [ScannedProcess(pid: 10, handles: [groupFD(4), deviceFD(5, nil)])]
        #expect(HolderAnalysis.mapsNeeded(targets: [target(a, enable: 1)], processes: anonymous) == .some([10]))
        let groupOnly = [ScannedProcess(pid: 10, handles: [groupFD(4)])]
        #expect(HolderAnalysis.mapsNeeded(targets: [target(a, enable: 1)], processes: groupOnly) == .all)
    }
}

@Suite("Holder parsers")
struct HolderParserTests {
    @Test("device numbers")
    func deviceNumbers() {
        #expect(DeviceNumber(parsing: "243:12\n") == DeviceNumber(major: 243, minor: 12))
        #expect(DeviceNumber(parsing: " 10:196") == DeviceNumber(major: 10, minor: 196))
        for bad in ["", "243", "243:", ":12", "a:b", "1:2:3", "-1:2"] { #expect(DeviceNumber(parsing: bad) == nil, "\(bad)") }
    }

    @Test("start time is field 22, counted after the last ')' of comm")
    func startTicks() {
        let fields = "S 1 42 42 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 987654 12345678 300"
        #expect(ProcessDetailsReader.parseStartTicks("42 (qemu) " + fields) == 987_654)
        #expect(ProcessDetailsReader.parseStartTicks("42 (a) b) (c d) " + fields) == 987_654)
        #expect(ProcessDetailsReader.parseStartTicks("42 (short) S 1 2") == nil)
        #expect(ProcessDetailsReader.parseBootTime("cpu 1 2\nbtime 1700000000\nprocesses 5\n") == 1_700_000_000)
    }

    @Test("command line, cgroup, unit, VM name")
    func details() {
        #expect(ProcessDetailsReader.parseCommandLine(Array("qemu\0-m\0\0x\0".utf8)) == ["qemu", "-m", "", "x"])
        #expect(ProcessDetailsReader.parseCgroup("12:pids:/a\n0::/system.slice/libvirtd.service\n") == "/system.slice/libvirtd.service")
        #expect(ProcessDetailsReader.parseCgroup("9:name=systemd:/user.slice/x.scope\n4:memory:/y\n") == "/user.slice/x.scope")
        #expect(ProcessDetailsReader.unit("/machine.slice/machine-qemu\\x2d1\\x2dwin.scope/libvirt/emulator") == "machine-qemu\\x2d1\\x2dwin.scope")
        #expect(ProcessDetailsReader.unit("/") == nil)
        #expect(ProcessDetailsReader.vmName(["/usr/bin/qemu-system-x86_64", "-name", "guest=win11,debug-threads=on"]) == "win11")
        #expect(ProcessDetailsReader.vmName(["qemu-kvm", "-name", "plain"]) == "plain")
        #expect(ProcessDetailsReader.vmName(["cloud-hypervisor", "-name", "x"]) == nil)
    }

    @Test("maps lines: range and path, paths with spaces, lines without a path")
    func mapsLines() {
        func parse(_ line: String) -> (range: String, path: String)? {
            Array(line.utf8).withUnsafeBufferPointer { ProcScanner.parseMapsLine($0) }
        }
        let anon = parse("7f3c2c000000-7f3c2c001000 rw-s 00000000 00:0e 1038                       anon_inode:[vfio-device]")
        #expect(anon?.range == "7f3c2c000000-7f3c2c001000")
        #expect(anon?.path == "anon_inode:[vfio-device]")
        #expect(parse("0000a000-0000b000 rw-s 00000000 00:05 321   /dev/vfio/devices/vfio0 (deleted)")?.path == "/dev/vfio/devices/vfio0 (deleted)")
        #expect(parse("7f00-7f10 r--p 00000000 fe:01 99 /opt/my dir/lib.so")?.path == "/opt/my dir/lib.so")
        #expect(parse("7f00-7f10 rw-p 00000000 00:00 0 ") == nil)
    }

    @Test("group node names")
    func groupNames() {
        #expect(HolderTargetReader.groupNumber("12") == 12)
        #expect(HolderTargetReader.groupNumber("noiommu-3") == 3)
        for bad in ["vfio", "devices", "noiommu-", "1a", "", "12345678901"] { #expect(HolderTargetReader.groupNumber(bad) == nil, "\(bad)") }
    }
}
