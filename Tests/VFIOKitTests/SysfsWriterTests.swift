import SystemPackage
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters

private let bdf = PCIAddress("0000:01:00.0")!

@Suite("The real sysfs writer (on fixture files)")
struct SysfsWriterTests {
    @Test("writes the exact bytes, under the root prefix, replacing what was there")
    func writesExactBytes() throws {
        let host = FixtureLayout.desktop.build()
        let writer = RealSysfsWriter(root: host.root)
        try writer.write("vfio-pci\n", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override")
        #expect(host.read("/sys/bus/pci/devices/0000:05:00.0/driver_override") == "vfio-pci")
        let bytes = Sysfs.readBytes(host.path + "/sys/bus/pci/devices/0000:05:00.0/driver_override", limit: 100)
        #expect(bytes == Array("vfio-pci\n".utf8))
    }

    @Test("a missing attribute fails with ENOENT and is not created (no O_CREAT)")
    func noCreate() throws {
        let host = FixtureLayout.desktop.build()
        let writer = RealSysfsWriter(root: host.root)
        let path = "/sys/bus/pci/drivers/nouveau-missing/bind"
        let error = #expect(throws: SysfsWriteError.self) { try writer.write("0000:01:00.0\n", to: path) }
        #expect(error?.errno == .noSuchFileOrDirectory)
        #expect(!Sysfs.exists(host.path + path))
        #expect(error?.description.contains("No such file or directory (ENOENT)") == true)
    }

    @Test("a 0-byte write is refused without touching the file: the kernel would ignore it")
    func noEmptyWrite() throws {
        let host = FixtureLayout.desktop.build()
        host.write("/sys/bus/pci/devices/0000:05:00.0/driver_override", "vfio-pci\n")
        let writer = RealSysfsWriter(root: host.root)
        let error = #expect(throws: SysfsWriteError.self) { try writer.write("", to: "/sys/bus/pci/devices/0000:05:00.0/driver_override") }
        #expect(error?.errno == nil)
        #expect(host.read("/sys/bus/pci/devices/0000:05:00.0/driver_override") == "vfio-pci")
    }

    @Test("errno is kept: a directory gives EISDIR")
    func errnoKept() throws {
        let host = FixtureLayout.desktop.build()
        let writer = RealSysfsWriter(root: host.root)
        let error = #expect(throws: SysfsWriteError.self) { try writer.write("x\n", to: "/sys/bus/pci/devices/0000:05:00.0") }
        #expect(error?.errno == .isDirectory)
    }

    @Test(
        "shell rendering of writes",
        arguments: [
            (
                SysfsWrite.setOverride(bdf, to: "vfio-pci"), "vfio-pci\n", "/sys/bus/pci/devices/0000:01:00.0/driver_override",
                "echo vfio-pci > /sys/bus/pci/devices/0000:01:00.0/driver_override"
            ),
            (.setOverride(bdf, to: nil), "\n", "/sys/bus/pci/devices/0000:01:00.0/driver_override", "echo > /sys/bus/pci/devices/0000:01:00.0/driver_override"),
            (.probe(bdf), "0000:01:00.0\n", "/sys/bus/pci/drivers_probe", "echo 0000:01:00.0 > /sys/bus/pci/drivers_probe"),
            (.unbind(bdf, from: "nouveau"), "0000:01:00.0\n", "/sys/bus/pci/drivers/nouveau/unbind", "echo 0000:01:00.0 > /sys/bus/pci/drivers/nouveau/unbind"),
            (.bind(bdf, to: "snd_hda_intel"), "0000:01:00.0\n", "/sys/bus/pci/drivers/snd_hda_intel/bind", "echo 0000:01:00.0 > /sys/bus/pci/drivers/snd_hda_intel/bind"),
        ])
    func typedWrites(write: SysfsWrite, value: String, path: String, shell: String) {
        // What a write means decides exactly what is written where.
        #expect(write.value == value)
        #expect(write.path == path)
        #expect(write.address == bdf)
        #expect(write.shellLine(root: HostRoot()) == shell)
        #expect(write.shellLine(root: HostRoot("/mnt/root")) == shell.replacingFirstOccurrence("/sys", with: "/mnt/root/sys"))
    }

    @Test("modprobe is never run under a root prefix other than /")
    func noModprobeUnderPrefix() throws {
        let host = FixtureLayout.desktop.build()
        let error = #expect(throws: VFIOError.self) { try RealModuleLoader(root: host.root).load("vfio-pci") }
        #expect(error?.exitCode == 69)
        #expect(error?.message.contains("modprobe vfio-pci") == true)
    }
}

extension String {
    func replacingFirstOccurrence(_ old: String, with new: String) -> String {
        var copy = self
        if let range = copy.firstRange(of: old) { copy.replaceSubrange(range, with: new) }
        return copy
    }
}
