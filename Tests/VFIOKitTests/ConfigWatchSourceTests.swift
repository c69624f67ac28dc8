import Testing
import VFIOTestSupport

@testable import VFIOHost
@testable import VFIOKit
@testable import VFIOModel
@testable import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// The real event source on a fixture root: inotify on the desired-state files and /dev/vfio,
/// and SIGTERM through its signalfd (sent to this thread only, which the source has blocked).
@Suite("apply --watch: the inotify and signalfd event source")
struct ConfigWatchSourceTests {
    func events(_ source: ConfigWatchSource, within: Duration = .seconds(2)) -> [WatchEvent] {
        let deadline = source.now() + within
        var seen: [WatchEvent] = []
        while source.now() < deadline {
            seen += source.wait(until: deadline)
            if !seen.isEmpty { return seen }
        }
        return seen
    }

    @Test("a rename over the file, a drop-in directory made later, a node in /dev/vfio, and SIGTERM")
    func realEvents() throws {
        let host = FixtureLayout.desktop.build()
        host.write("/etc/vfioctl.conf", "")
        let source = try ConfigWatchSource(root: host.root)
        // Nothing happened: the deadline passes with no event.
        #expect(source.wait(until: source.now() + .milliseconds(50)).isEmpty)
        // Another file in /etc is none of its business.
        host.write("/etc/hostname", "x\n")
        #expect(source.wait(until: source.now() + .milliseconds(100)).isEmpty)

        host.write("/etc/vfioctl.conf.new", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(rename(host.path + "/etc/vfioctl.conf.new", host.path + "/etc/vfioctl.conf") == 0)
        #expect(events(source).contains(.configChanged))

        // The drop-in directory appears after the start: its creation counts, and so do the
        // files written into it afterwards (the watch is added on the next wait).
        #expect(mkdir(host.path + "/etc/vfioctl.conf.d", 0o755) == 0)
        #expect(events(source).contains(.configChanged))
        _ = source.wait(until: source.now())
        host.write("/etc/vfioctl.conf.d/..data", "")
        #expect(events(source).contains(.configChanged))

        // /dev/vfio appears with the first VFIO-bound group (the vfio module may load later
        // than the agent starts): watched from the next wait on.
        host.write("/dev/vfio/.keep", "")
        #expect(source.wait(until: source.now() + .milliseconds(50)).isEmpty)
        _ = try host.addVFIOGroupNode(19)
        #expect(events(source).contains(.nodesChanged))

        // SIGTERM is blocked while the source exists; it is read as .stop at the next wait.
        #expect(pthread_kill(pthread_self(), SIGTERM) == 0)
        #expect(events(source) == [.stop])
    }

    @Test("apply --watch FILE watches that file only")
    func oneFile() throws {
        let host = FixtureLayout.desktop.build()
        let file = host.path + "/desired.conf"
        host.write("/desired.conf", "")
        let source = try ConfigWatchSource(root: host.root, file: file)
        host.write("/etc/vfioctl.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(source.wait(until: source.now() + .milliseconds(100)).isEmpty)
        host.write("/desired.conf", "[device 05:00.0]\ndriver = vfio-pci\n")
        #expect(events(source).contains(.configChanged))
    }
}
