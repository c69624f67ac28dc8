import SystemPackage
import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// Runs steps against the kernel: the writes through the `SysfsWriting` seam, module loads
/// through `ModuleLoading`, and verification by reading sysfs under the root prefix. A list
/// of changes runs as one transaction: all or nothing.
public struct Executor: Sendable {
    public let root: HostRoot
    public let kernel: KernelInterface
    public let options: ExecutorOptions
    public let onEvent: (@Sendable (ExecutorEvent) -> Void)?

    public init(
        root: HostRoot, kernel: KernelInterface, options: ExecutorOptions = ExecutorOptions(),
        onEvent: (@Sendable (ExecutorEvent) -> Void)? = nil
    ) {
        self.root = root
        self.kernel = kernel
        self.options = options
        self.onEvent = onEvent
    }

    // MARK: - Steps

    /// Runs `steps` in order and stops at the first failure.
    public func run(_ steps: [OperationStep]) throws(StepFailure) {
        for step in steps {
            try run(step)
        }
    }

    public func run(_ step: OperationStep) throws(StepFailure) {
        switch step {
        case .loadModule(let module):
            do {
                try kernel.modules.load(module)
            } catch {
                throw StepFailure(address: nil, step: step, errno: nil, message: error.message)
            }
            // A module can load and still not register the driver (or be built in with a
            // different name); only the directory proves the driver is there.
            guard Sysfs.isDirectory(root.path(SysfsPaths.driverDirectory(module))) else {
                throw StepFailure(
                    address: nil, step: step, errno: nil,
                    message: "modprobe \(module) succeeded but \(SysfsPaths.driverDirectory(module)) is still missing")
            }
        case .write(let write):
            try perform(write, step: step)
        case .verify(let address, let driver):
            try verify(address, driver: driver, step: step)
        case .setOwner(let path, let uid, let gid):
            do {
                try kernel.nodes.setOwner(path, uid: uid, gid: gid)
            } catch {
                throw StepFailure(address: nil, step: step, errno: error.errno, message: "cannot chown \(path) to \(uid):\(gid): " + Self.reason(error))
            }
        case .setMode(let path, let mode):
            do {
                try kernel.nodes.setMode(path, mode: mode)
            } catch {
                throw StepFailure(
                    address: nil, step: step, errno: error.errno, message: "cannot chmod \(path) to \(NodeOwner.octal(mode)): " + Self.reason(error))
            }
        case .reloadUdevRules:
            do {
                try kernel.udev.reloadRules()
            } catch {
                throw StepFailure(address: nil, step: step, errno: nil, message: error.message)
            }
        }
        onEvent?(.performed(step))
    }

    func perform(_ write: SysfsWrite, step: OperationStep) throws(StepFailure) {
        var delay = options.retryDelay
        var attempt = 0
        while true {
            do {
                try kernel.writer.write(write.value, to: write.path)
                return
            } catch {
                if let errno = error.errno, Self.isRetryable(errno, write), attempt < options.busyRetries {
                    attempt += 1
                    onEvent?(.retrying(write, errno, attempt: attempt))
                    Self.sleep(delay)
                    delay = delay * 2
                    continue
                }
                // `unbind` says ENODEV when the device is not bound to that driver. If it is no
                // longer bound to it (it went away on its own), the write's purpose is met.
                if error.errno == Errno(rawValue: ENODEV), case .unbind(let address, let driver) = write.kind, currentDriver(address) != driver {
                    return
                }
                throw StepFailure(address: write.address, step: step, errno: error.errno, message: error.description)
            }
        }
    }

    /// EBUSY and EAGAIN (probe deferral; a group whose release is still running after the close
    /// event — docs/kernel-notes.md), and EINVAL from `drivers_probe`, which is how it reports any
    /// negative probe result, EBUSY from DMA ownership included (`drivers_probe_store()` in drivers/base/bus.c).
    static func isRetryable(_ errno: Errno, _ write: SysfsWrite) -> Bool {
        // sriov_numvfs says EBUSY when VFs are enabled already: a fact, not a transient state.
        if case .setNumVFs = write.kind { return false }
        if errno == .resourceBusy || errno == .resourceTemporarilyUnavailable { return true }
        if case .probe = write.kind { return errno == .invalidArgument }
        return false
    }

    func verify(_ address: PCIAddress, driver expected: String?, step: OperationStep) throws(StepFailure) {
        let deadline = ContinuousClock.now + options.verifyTimeout
        var actual = currentDriver(address)
        while actual != expected && ContinuousClock.now < deadline {
            Self.sleep(options.pollInterval)
            actual = currentDriver(address)
        }
        guard actual == expected else {
            let hint: String
            if let expected, DriverName.isVFIO(expected), let numVFs = Sysfs.readInt(root.device(address) + "/sriov_numvfs"), numVFs > 0 {
                // vfio_pci_core_register_device: "Cannot bind to PF with SR-IOV enabled" (EBUSY).
                hint = "it is an SR-IOV PF with \(numVFs) VFs enabled, which \(expected) refuses; set sriov_numvfs to 0 first"
            } else if let expected {
                hint = "the kernel accepted the writes but \(expected)'s probe did not take it (probe errors are not reported to the writer); dmesg says why"
            } else {
                hint = "it is still bound"
            }
            throw StepFailure(
                address: address, step: step, errno: nil,
                message: "\(address): expected driver \(expected ?? "none") but it is \(actual.map { "bound to " + $0 } ?? "unbound"): \(hint)")
        }
        guard let expected, DriverName.isVFIO(expected) else { return }
        let dir = root.device(address)
        // vfio-dev/ is made by vfio_device_add (6.1+), whose class directory exists whenever the
        // running vfio creates it; without the class there is nothing to check.
        if Sysfs.isDirectory(root.path("/sys/class/vfio-dev")), (Sysfs.list(dir + "/vfio-dev") ?? []).isEmpty {
            throw StepFailure(
                address: address, step: step, errno: nil,
                message: "\(address): bound to \(expected) but \(SysfsPaths.device(address))/vfio-dev/ is missing: VFIO did not register it")
        }
        // devtmpfs creates the group node and the cdev synchronously with the registration.
        // Checked where a /dev is there to look at (the host, or a tree that has /dev/vfio), and
        // only for the interfaces the kernel has: a CONFIG_VFIO_GROUP=n kernel makes no group
        // node, only the device's cdev.
        guard root.isHostRoot || Sysfs.isDirectory(root.devVFIO) else { return }
        let interfaces = VFIOInterfaces.read(root: root)
        if interfaces.groups, let group = Sysfs.linkName(dir + "/iommu_group").flatMap({ Int($0) }) {
            guard VFIONodeReader(root: root).groupNode(group) != nil else {
                throw StepFailure(
                    address: address, step: step, errno: nil,
                    message: "\(address): bound to \(expected) but /dev/vfio/\(group) does not exist")
            }
        }
        // A device in no-IOMMU mode has no cdev (vfio_device_add registers a plain device for
        // it): its vfio-dev/vfioX has no `dev`, and nothing is expected under /dev.
        let cdevsVisible = root.isHostRoot || Sysfs.isDirectory(root.devVFIO + "/devices")
        for name in (Sysfs.list(dir + "/vfio-dev") ?? []).sorted() where cdevsVisible && Sysfs.exists(dir + "/vfio-dev/" + name + "/dev") {
            let node = OwnershipPlanner.cdevNode(name)
            guard Sysfs.exists(root.path(node)) else {
                throw StepFailure(address: address, step: step, errno: nil, message: "\(address): bound to \(expected) but \(node) does not exist")
            }
        }
    }

    public func currentDriver(_ address: PCIAddress) -> String? {
        Sysfs.linkName(root.device(address) + "/driver")
    }

    public func currentState(_ address: PCIAddress) -> DriverState {
        let override = Sysfs.read(root.device(address) + "/driver_override")
        return DriverState(driver: currentDriver(address), override: override == "(null)" || override == "" ? nil : override)
    }

    // MARK: - Transactions

    /// Runs every change; if any step fails, returns every device touched so far (the failing
    /// one included) to its original driver and override, newest first, verifying each.
    public func transaction(_ changes: [DeviceChange]) -> TransactionOutcome {
        var touched: [DeviceChange] = []
        for change in changes {
            touched.append(change)
            do {
                try run(change.steps)
            } catch {
                return rollBack(touched, after: error)
            }
        }
        return .completed
    }

    /// Returns `changes` to their original states, newest first. Each device is restored from
    /// what sysfs shows now, so a half-done change is undone exactly as far as it got.
    public func rollBack(_ changes: [DeviceChange], after failure: StepFailure) -> TransactionOutcome {
        var restored: [PCIAddress] = []
        var stranded: [TransactionOutcome.StrandedDevice] = []
        for change in changes.reversed() {
            do {
                try restore(change.address, to: change.original)
                restored.append(change.address)
            } catch {
                stranded.append(.init(address: change.address, current: currentState(change.address), failure: error))
            }
        }
        if stranded.isEmpty { return .rolledBack(failure: failure, restored: restored) }
        return .rollbackFailed(failure: failure, restored: restored, stranded: stranded)
    }

    /// Moves one device to `state` from wherever it is now. Binds the original driver by name
    /// (`drivers/<driver>/bind`), not through `drivers_probe`, so it is exactly the one it had.
    public func restore(_ address: PCIAddress, to state: DriverState) throws(StepFailure) {
        onEvent?(.rollingBack(address, to: state))
        let steps = DriverTransition.steps(for: address, from: currentState(address), to: state, attach: .bind)
        try run(steps.isEmpty ? [.verify(address, driver: state.driver)] : steps)
    }

    // MARK: - Helpers

    static func reason(_ error: SysfsWriteError) -> String {
        error.errno.map { $0.description + " (" + ErrnoName.name($0) + ")" } ?? error.detail ?? "failed"
    }

    static func sleep(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        guard seconds > 0 || attoseconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
