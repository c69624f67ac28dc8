import VFIOHost
import VFIOModel

/// Runs `udevadm control --reload`, but only on the real host (under any other root prefix the
/// daemon, if one runs there, is not ours to talk to).
///
/// Why a reload at all: systemd-udevd re-reads its rule files only when it notices that their
/// directories changed, which it checks lazily (at most every few seconds, on the next event).
/// A rule removed just before a rebind can therefore still be applied to the new node: with
/// the real systemd-udevd, a sysfs rebind right after `unbind` gave the group node to the
/// removed `--owner` about once in four runs. The reload makes the daemon drop its rules now.
public struct RealUdevControl: UdevControlling {
    public let root: HostRoot

    public init(root: HostRoot) {
        self.root = root
    }

    public func reloadRules() throws(VFIOError) {
        guard root.isHostRoot else { return }
        let status = Subprocess.run(["udevadm", "control", "--reload"])
        guard status == 0 else {
            throw .failed("udevadm control --reload " + (status < 0 ? "could not be run" : "exited with status \(status)"))
        }
    }
}

extension UdevRuleStore {
    /// The socket systemd-udevd listens on; it exists only while the daemon runs (a chroot, a
    /// container or an initramfs without udev has none, and then there is nothing to reload).
    public static let controlSocket = "/run/udev/control"

    /// The step that makes a running udev daemon see rule files just written or removed:
    /// none when no daemon runs under this root.
    public func reloadSteps() -> [OperationStep] {
        Sysfs.exists(root.path(Self.controlSocket)) ? [.reloadUdevRules] : []
    }
}

extension UdevRuleStore {
    /// Runs `reloadSteps()` through the executor; a failure is a warning (the files are right,
    /// the daemon will see them at its next check). Returns the warning.
    func reload(with executor: Executor) -> String? {
        do throws(StepFailure) {
            try executor.run(reloadSteps())
            return nil
        } catch {
            return "the udev rules changed, but udevd could not be told to reload them: \(error.message)"
        }
    }
}
