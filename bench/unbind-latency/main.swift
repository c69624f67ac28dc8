import VFIOHost
import VFIOKit
import VFIOModel
import VFIOTestSupport
import VFIOWriters
import VfioctlCommands

// Part 3 of `make bench`, the unbind half: how long `vfioctl unbind` takes to notice that the last
// holder of a device's group exited and to finish giving the device back, on a fixture host with
// the simulated kernel (so nothing on this machine is touched).
//
//   unbind-latency HOLDFDS RUNS
//
// Each run: a fixture host (the desktop layout) with 0000:05:00.0 bound to vfio-pci through the
// simulated kernel; its group node made a character device with the number of /dev/full, held
// by a real process (`holdfds release`), which is the only process in the fixture's /proc; then
// `vfioctl unbind 05:00.0` runs in this process (the command layer, as the binary runs it) and
// waits; the holder is told to exit once the wait has begun and records CLOCK_MONOTONIC just
// before it does; the latency is from that instant to the command's return. One JSON line:
// {"runs": N, "failed": F, "latencies_ms": [...]}.
#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count == 3, let runs = Int(args[2]), runs > 0 else {
    let usage = "usage: unbind-latency HOLDFDS RUNS\n"
    _ = write(2, usage, usage.utf8.count)
    exit(64)
}
let holdfds = args[1]
let device = PCIAddress("0000:05:00.0")!
let group = 19

func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// `holdfds release NODE`: holds NODE until a line arrives on its stdin, then prints
/// `released <ns>` and exits.
final class ReleaseHolder {
    let pid: pid_t
    private let toChild: Int32
    private let fromChild: UnsafeMutablePointer<FILE>

    init?(node: String) {
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        guard pipe(&input) == 0, pipe(&output) == 0 else { return nil }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, input[0], 0)
        posix_spawn_file_actions_adddup2(&actions, output[1], 1)
        for fd in input + output { posix_spawn_file_actions_addclose(&actions, fd) }
        var child: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(holdfds), strdup("release"), strdup(node), nil]
        defer { for arg in argv { free(arg) } }
        let status = posix_spawn(&child, holdfds, &actions, nil, argv, environ)
        close(input[0])
        close(output[1])
        guard status == 0, let stream = fdopen(output[0], "r") else { return nil }
        pid = child
        toChild = input[1]
        fromChild = stream
        guard readLine() == "ready" else { return nil }
    }

    func readLine() -> String? {
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), fromChild) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 && $0 != 0x0a }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Tells it to exit; returns the instant it recorded just before exiting.
    func release() -> Int64? {
        _ = write(toChild, "go\n", 3)
        guard let line = readLine(), line.hasPrefix("released ") else { return nil }
        return Int64(line.dropFirst(9))
    }

    deinit {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(toChild)
        fclose(fromChild)
    }
}

/// The command's thread: what it needs, and what it leaves (read after `pthread_join`).
final class Job: @unchecked Sendable {
    let environment: [String: String]
    let services: CommandServices
    var status: Int32?
    var finished: Int64 = 0
    init(environment: [String: String], services: CommandServices) {
        self.environment = environment
        self.services = services
    }
}

func oneRun() -> Double? {
    let host = FixtureLayout.desktop.build()
    let kernel = SimulatedKernel(host: host)
    let services = CommandServices(kernel: { _ in kernel.interface }, effectiveUID: 0, deviceNumbers: host.deviceNumbers)
    let environment = ["VFIOCTL_ROOT": host.path]
    guard Vfioctl.run(arguments: ["bind", "-q", device.description], console: .capturing(), environment: environment, services: services) == 0,
        let node = try? host.addVFIOGroupNode(group, major: 1, minor: 7),
        let holder = ReleaseHolder(node: host.path + node)
    else { return nil }
    host.linkRealProcess(holder.pid)

    let job = Job(environment: environment, services: services)
    var thread = pthread_t()
    // The command runs on its own thread; this one releases the holder once the wait has begun.
    guard
        pthread_create(
            &thread, nil,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                job.status = Vfioctl.run(
                    arguments: ["unbind", "-q", device.description, "--timeout", "10s"], console: .capturing(), environment: job.environment,
                    services: job.services)
                job.finished = monotonicNanoseconds()
                return nil
            }, Unmanaged.passRetained(job).toOpaque()) == 0
    else { return nil }
    // The first scan finds the holder; then the wait sleeps on its pidfd.
    usleep(150_000 + UInt32.random(in: 0..<50_000))
    let released = holder.release()
    pthread_join(thread, nil)
    guard job.status == 0, let released, Sysfs.linkName(host.root.device(device) + "/driver") == "igb" else { return nil }
    return Double(job.finished - released) / 1e6
}

var latencies: [Double] = []
var failed = 0
for _ in 0..<runs {
    if let ms = oneRun() { latencies.append(ms) } else { failed += 1 }
}
print("{\"runs\": \(latencies.count), \"failed\": \(failed), \"latencies_ms\": [" + latencies.map { String($0) }.joined(separator: ", ") + "]}")
