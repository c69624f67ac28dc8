import Foundation
import Testing
import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands
import VfioctlOutput

@Suite("vfioctl apply: claim at device add")
struct ApplyClaimTests {
    let host = FixtureLayout.desktop.build()
    let kernel: SimulatedKernel

    init() {
        kernel = SimulatedKernel(host: host)
        // igb is a loadable module here (its /sys/module entry has initstate); nouveau has no link.
        host.write("/sys/module/igb/initstate", "live\n")
        symlink("../../../../module/igb", host.path + "/sys/bus/pci/drivers/igb/module")
    }

    static let rule = ClaimFiles.rulePath
    static let modprobe = ClaimFiles.modprobePath
    static let hook = ClaimFiles.initramfsHookPath

    func exists(_ path: String) -> Bool { Sysfs.exists(host.path + path) }

    @Test("the rule and the softdep are written with the entry, left alone when unchanged, removed with it")
    func lifecycle() throws {
        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\n")
        let first = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(host.driver("05:00.0") == "vfio-pci")
        #expect(host.read(Self.rule)?.contains(#"KERNEL=="0000:05:00.0", ATTR{driver_override}="vfio-pci""#) == true)
        // igb was its driver before the bind (the state file), and it is a module.
        #expect(host.read(Self.modprobe)?.contains("softdep igb pre: vfio-pci") == true)
        #expect(!exists(Self.hook), "no initramfs-tools under this root")
        #expect(first.stdout.contains("claim      \(Self.rule): written\n"), "\(first.stdout)")
        #expect(first.stdout.contains("run update-initramfs -u"), "\(first.stdout)")
        // The README's example, line for line.
        #expect(first.stdout.contains("changed  0000:05:00.0  igb   vfio-pci  /etc/vfioctl.conf:1  bound to vfio-pci\n"), "\(first.stdout)")

        let again = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(again.status == 0, "\(again.stderr)")
        let claim = try #require(try again.json()["claim"] as? [String: Any])
        #expect(claim["written"] as? [String] == [])
        #expect(claim["unchanged"] as? [String] == [Self.rule, Self.modprobe])
        #expect(claim["initramfsCommand"] is NSNull)

        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = host\n")
        let back = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(back.status == 0, "\(back.stderr)")
        #expect(host.driver("05:00.0") == "igb")
        #expect(!exists(Self.rule) && !exists(Self.modprobe))
        #expect(try (back.json()["claim"] as? [String: Any])?["removed"] as? [String] == [Self.rule, Self.modprobe])
    }

    @Test("--dry-run names the files it would write and writes none of them")
    func dryRun() throws {
        host.write("/etc/vfioctl.conf", "[ids 8086:1533]\ndriver = vfio-pci\n")
        let run = vfioctl(["apply", "--dry-run"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("# write \(host.path)\(Self.rule) (claim at device add)\n"), "\(run.stdout)")
        #expect(!exists(Self.rule) && !exists(Self.modprobe))
        #expect(kernel.writes.isEmpty)
    }

    @Test("udevd is told to reload when the rule changes, only where it runs; the hook only with initramfs-tools", arguments: [true, false])
    func reloadAndHook(daemonRuns: Bool) throws {
        if daemonRuns {
            host.write("/run/udev/control", "")
            host.write("/etc/initramfs-tools/initramfs.conf", "MODULES=most\n")
        }
        host.write("/etc/vfioctl.conf", "[device 0000:05:00.0]\ndriver = vfio-pci\n")
        let run = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(kernel.udevReloads == (daemonRuns ? 1 : 0))
        #expect(run.stdout.contains("claim      udevadm control --reload: done\n") == daemonRuns, "\(run.stdout)")
        #expect(exists(Self.hook) == daemonRuns)
        _ = vfioctl(["apply"], host: host, kernel: kernel)
        #expect(kernel.udevReloads == (daemonRuns ? 1 : 0), "an unchanged rule needs no reload")
    }

    @Test("a host driver built into the kernel is named: no rule can keep it off at add")
    func builtIn() throws {
        host.write("/etc/vfioctl.conf", "[device 0000:01:00.0]\ndriver = vfio-pci\nforce = yes\ngroup = whole\n")
        let run = vfioctl(["apply", "--json"], host: host, kernel: kernel)
        #expect(run.status == 0, "\(run.stderr)")
        let claim = try #require(try run.json()["claim"] as? [String: Any])
        #expect(claim["builtInDrivers"] as? [String] == ["nouveau", "snd_hda_intel"])
        #expect(host.read(Self.modprobe)?.contains("softdep") == false)
    }
}
