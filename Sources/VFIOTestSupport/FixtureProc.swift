import CLinuxShim
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// VFIO nodes and a fake `/proc` for holder tests.
///
/// Nodes are plain files standing for character nodes, so fixtures need no `mknod` (no root,
/// no CAP_MKNOD, no `nodev` trouble): each is registered with its number in the host's
/// `StandInNodes`, and scans given `deviceNumbers` match them as the kernel's `st_rdev` would
/// match real nodes. A real process can open one (`NodeHolder`), and `/proc/PID/fd/N` then
/// points at it as at a node. Fixture group nodes default to major 510 and device cdevs use 511
/// (what `FixtureHost.add` writes into `vfio-dev/vfioX/dev`).
extension FixtureHost {
    /// Creates a node at a host-style path (e.g. `/dev/vfio/12`): a plain file that counts as
    /// character device `major:minor` for scans given `deviceNumbers`. Replaces what was there.
    public func makeCharNode(_ hostPath: String, major: UInt32, minor: UInt32) throws {
        let full = path + hostPath
        if let slash = full.lastIndex(of: "/") { mkdirs(String(full[..<slash])) }
        unlink(full)
        try nodes.create(full, number: DeviceNumber(major: major, minor: minor))
    }

    /// The desktop layout with the nodes the kernel makes for its VFIO function 0000:07:02.1
    /// (vfio-pci, `vfio0`, alone in group 24): `/dev/vfio/24`, `/dev/vfio/devices/vfio0` and the
    /// container `/dev/vfio/vfio`; plus `/dev/null` and a boot time of 1 700 000 000.
    public static func desktopWithVFIONodes() throws -> FixtureHost {
        let host = FixtureLayout.desktop.build()
        try host.addVFIOGroupNode(24)
        try host.addVFIODeviceNode("vfio0")
        try host.addContainerNode()
        try host.makeCharNode("/dev/null", major: 1, minor: 3)
        host.setBootTime(1_700_000_000)
        return host
    }

    /// Gives group `id` its VFIO node as the kernel does when a member binds to vfio-pci:
    /// `/sys/class/vfio/N/dev` and `/dev/vfio/N` (`noiommu-N` in no-IOMMU mode).
    /// - Returns: the node's host-style path.
    @discardableResult
    public func addVFIOGroupNode(_ id: Int, major: UInt32 = 510, minor: UInt32? = nil, noiommu: Bool = false, makeNode: Bool = true) throws -> String {
        let name = (noiommu ? "noiommu-" : "") + String(id)
        let number = String(major) + ":" + String(minor ?? UInt32(id))
        write("/sys/class/vfio/" + name + "/dev", number + "\n")
        let node = "/dev/vfio/" + name
        if makeNode { try makeCharNode(node, major: major, minor: minor ?? UInt32(id)) }
        return node
    }

    /// Creates `/dev/vfio/devices/vfioX` for a device added with `vfioDevice` (number 511:X, as
    /// `FixtureHost.add` wrote into sysfs). - Returns: the node's host-style path.
    @discardableResult
    public func addVFIODeviceNode(_ vfioName: String) throws -> String {
        let node = "/dev/vfio/devices/" + vfioName
        try makeCharNode(node, major: 511, minor: UInt32(vfioName.dropFirst(4)) ?? 0)
        return node
    }

    /// `/dev/vfio/vfio`, the legacy container (misc 10:196).
    @discardableResult
    public func addContainerNode() throws -> String {
        try makeCharNode("/dev/vfio/vfio", major: 10, minor: 196)
        return "/dev/vfio/vfio"
    }

    /// Rewrites a device's `enable` count.
    public func setEnable(_ address: PCIAddress, _ count: Int) {
        guard let dir = devicePath(address) else { return }
        writeFile(dir + "/enable", String(count) + "\n")
    }

    // MARK: - Fake /proc

    /// `/proc/stat` with the boot time the start-time math uses.
    public func setBootTime(_ seconds: Int64) {
        write("/proc/stat", "cpu  1 2 3 4\nbtime " + String(seconds) + "\nprocesses 100\n")
    }

    /// A process directory with `comm`, `cmdline`, `cgroup`, `stat` and an empty `fd/`.
    public func addProcess(
        _ pid: Int32, comm: String, cmdline: [String]? = nil, cgroup: String? = "0::/user.slice/session-1.scope", startTicks: Int64 = 1000
    ) {
        let dir = "/proc/" + String(pid)
        mkdirs(path + dir + "/fd")
        mkdirs(path + dir + "/fdinfo")
        write(dir + "/comm", comm + "\n")
        let args = cmdline ?? [comm]
        writeBytes(path + dir + "/cmdline", args.flatMap { Array($0.utf8) + [0] })
        if let cgroup { write(dir + "/cgroup", cgroup + "\n") }
        // Fields 3…21, then 22 (starttime), then a few more.
        let middle = ["S", "1", String(pid), String(pid), "0", "-1", "4194560", "100", "0", "0", "0", "5", "3", "0", "0", "20", "0", "1", "0"]
        write(dir + "/stat", String(pid) + " (" + comm + ") " + (middle + [String(startTicks), "12345678", "300"]).joined(separator: " ") + "\n")
    }

    /// `/proc/PID/fd/N` → a node or file under the fixture root (host-style path).
    public func addFD(_ pid: Int32, _ fd: Int32, to hostPath: String) {
        addFDLink(pid, fd, text: path + hostPath)
    }

    /// `/proc/PID/fd/N` with literal link text (`socket:[123]`, `pipe:[7]`, `anon_inode:[eventfd]`).
    public func addFDLink(_ pid: Int32, _ fd: Int32, text: String) {
        let dir = path + "/proc/" + String(pid) + "/fd"
        mkdirs(dir)
        unlink(dir + "/" + String(fd))
        symlink(text, dir + "/" + String(fd))
        write("/proc/" + String(pid) + "/fdinfo/" + String(fd), "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1038\n")
    }

    /// An `anon_inode:[vfio-device]` fd. With `syspath`, its fdinfo names the device as 6.18+ does
    /// (`vfio-device-syspath: /sys/devices/…`); without, it is anonymous as on older kernels.
    public func addAnonDeviceFD(_ pid: Int32, _ fd: Int32, syspathOf address: PCIAddress?) {
        addFDLink(pid, fd, text: "anon_inode:[vfio-device]")
        var info = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1038\n"
        if let address, let dir = devicePath(address) {
            info += "vfio-device-syspath: " + String(dir.dropFirst(path.count)) + "\n"
        }
        write("/proc/" + String(pid) + "/fdinfo/" + String(fd), info)
    }

    /// A QEMU as /proc shows it: `/dev/null`, a socket, the container (fd 24), the group node
    /// (fd 25), a device fd (fd 27, named in fdinfo when `attributed`, as on 6.18+) and an eventfd.
    /// Needs `/dev/null`, `/dev/vfio/vfio` and the group node to exist in the fixture.
    public func addQEMU(_ pid: Int32, group: Int, device: PCIAddress, attributed: Bool, vm: String = "win11") {
        addProcess(
            pid, comm: "qemu-system-x86",
            cmdline: ["/usr/bin/qemu-system-x86_64", "-name", "guest=" + vm + ",debug-threads=on", "-machine", "q35"],
            cgroup: "0::/machine.slice/machine-qemu\\x2d1\\x2d" + vm + ".scope/libvirt/emulator", startTicks: 123_456)
        addFD(pid, 0, to: "/dev/null")
        addFDLink(pid, 5, text: "socket:[9001]")
        addFD(pid, 24, to: "/dev/vfio/vfio")
        addFD(pid, 25, to: "/dev/vfio/" + String(group))
        addAnonDeviceFD(pid, 27, syspathOf: attributed ? device : nil)
        addFDLink(pid, 28, text: "anon_inode:[eventfd]")
    }

    /// `/proc/PID/maps` lines, written as given.
    public func setMaps(_ pid: Int32, _ lines: [String]) {
        write("/proc/" + String(pid) + "/maps", lines.map { $0 + "\n" }.joined())
    }

    /// `/proc/PID/map_files/START-END` → a node under the fixture root.
    public func addMapFile(_ pid: Int32, range: String, to hostPath: String) {
        let dir = path + "/proc/" + String(pid) + "/map_files"
        mkdirs(dir)
        symlink(path + hostPath, dir + "/" + range)
    }

    /// Makes `/proc/PID` a symlink to the real `/proc/PID`, so a scan of this root sees exactly
    /// one real process (a test's own child) and nothing else on the machine.
    public func linkRealProcess(_ pid: Int32) {
        mkdirs(path + "/proc")
        symlink("/proc/" + String(pid), path + "/proc/" + String(pid))
    }

    /// Removes a process directory (or link) from the fake `/proc`.
    public func removeProcess(_ pid: Int32) {
        let dir = path + "/proc/" + String(pid)
        var st = stat()
        if lstat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
            unlink(dir)
        } else {
            removeTree(dir)
        }
    }
}

/// Runs `body` on this thread with filesystem uid `uid` (permission bits apply again for root),
/// then restores it. `body` must not suspend: the uid belongs to the thread.
public func withFilesystemUser<T>(_ uid: UInt32, _ body: () throws -> T) rethrows -> T {
    let previous = vfioctl_setfsuid(uid)
    defer { _ = vfioctl_setfsuid(UInt32(bitPattern: previous)) }
    return try body()
}
