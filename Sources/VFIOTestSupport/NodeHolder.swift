import VFIOHost
import VFIOKit
import VFIOModel
import VFIOWriters

#if canImport(Glibc)
import Glibc
#endif

/// A real child process that holds a node open on fd 3, as a VM process holds `/dev/vfio/N`:
/// `sh -c 'exec 3<NODE; echo ready; …; exec sleep 60'`. The shell execs `sleep`, so the pid stays
/// and its `comm` becomes `sleep`. Killed and reaped when released.
public final class NodeHolder {
    public let pid: pid_t
    private var input: Int32
    private var reaped = false

    public enum SpawnError: Error, CustomStringConvertible {
        case spawn(Int32)
        case notReady(String)
        public var description: String {
            switch self {
            case .spawn(let code): "posix_spawn /bin/sh: " + String(cString: strerror(code))
            case .notReady(let output): "holder did not start: '\(output)'"
            }
        }
    }

    /// - Parameters:
    ///   - path: the node to open (read-only).
    ///   - closeOnInput: keep running after `closeNode()` closes fd 3, instead of holding to the end.
    public init(holding path: String, closeOnInput: Bool = false) throws {
        let script =
            closeOnInput
            ? "exec 3<\"$1\" || exit 1; echo ready; read line; exec 3<&-; exec sleep 60"
            : "exec 3<\"$1\" || exit 1; echo ready; exec sleep 60"
        var toChild: [Int32] = [0, 0]
        var fromChild: [Int32] = [0, 0]
        _ = pipe(&toChild)
        _ = pipe(&fromChild)
        // Not inherited by anything spawned meanwhile; dup2 onto 0 and 1 clears it for the child.
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let args = ["/bin/sh", "-c", script, "holder", path]
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { free(envp[0]) }
        var child: pid_t = 0
        let status = posix_spawn(&child, "/bin/sh", &actions, nil, &argv, &envp)
        close(toChild[0])
        close(fromChild[1])
        guard status == 0 else {
            close(toChild[1])
            close(fromChild[0])
            throw SpawnError.spawn(status)
        }
        pid = child
        input = toChild[1]
        // The node is open once the shell says so.
        var output = ""
        var byte: UInt8 = 0
        while !output.hasSuffix("ready\n"), read(fromChild[0], &byte, 1) == 1 {
            output.unicodeScalars.append(UnicodeScalar(byte))
        }
        close(fromChild[0])
        guard output.hasSuffix("ready\n") else {
            kill()
            throw SpawnError.notReady(output)
        }
        // "ready" comes just before the shell execs sleep: wait for the exec too, so the pid's
        // comm and command line are settled (bounded; a slow machine only delays the test).
        if !closeOnInput {
            for _ in 0..<500 where Sysfs.read("/proc/" + String(child) + "/comm") != "sleep" { usleep(10_000) }
        }
    }

    /// With `closeOnInput`: closes fd 3 and keeps running.
    public func closeNode() {
        var line: [UInt8] = Array("go\n".utf8)
        _ = write(input, &line, line.count)
    }

    /// SIGKILL; the pid stays a zombie until `reap()` (or release of this object).
    public func kill() {
        _ = Glibc.kill(pid, SIGKILL)
    }

    public func reap() {
        guard !reaped else { return }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
    }

    deinit {
        kill()
        reap()
        if input >= 0 { close(input) }
    }
}
