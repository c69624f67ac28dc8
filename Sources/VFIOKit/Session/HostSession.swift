import VFIOHost
import VFIOModel
import VFIOWriters

/// One run of vfioctl against one host: the root prefix, the kernel interface, the lock, the
/// state store and the readers of inventory and holders, shared by the services that change
/// the host (`bind`, `release`, `restore`, `cycle`, `apply`).
///
/// Services return typed outcomes and never print. What happens while they run (waiting for
/// the lock, waiting for holders, each sysfs write) reaches the front end as `SessionEvent`s,
/// so a command draws a status line, a hook logs to the journal, and a test records them.
///
///     let session = HostSession(root: HostRoot(), kernel: .real(root: HostRoot()))
///     let outcome = try session.bind(BindRequest(targets: [.address(address)]))
///     exit(outcome.exitStatus.rawValue)
public final class HostSession {
    public let root: HostRoot
    public let kernel: KernelInterface
    public let executorOptions: ExecutorOptions
    /// Plan and report, write nothing and take no lock (`--dry-run`).
    public let dryRun: Bool
    public let effectiveUID: UInt32
    /// How long to wait for another vfioctl's lock.
    public let lockTimeout: Duration
    public let store: StateStore
    /// How holders' file descriptors are matched to device nodes (by `st_rdev` on a host).
    public let deviceNumbers: DeviceNumbers
    /// A `pci.ids` file for the names instead of libpci's default (`VFIOCTL_PCI_IDS`).
    public let pciIDsFile: String?
    let observer: (@Sendable (SessionEvent) -> Void)?
    /// Held from the first mutating service call to its end; a service that composes others
    /// (`apply`) holds it once for all of them.
    private var lock: HostLock?

    public init(
        root: HostRoot, kernel: KernelInterface, executorOptions: ExecutorOptions = ExecutorOptions(), dryRun: Bool = false,
        effectiveUID: UInt32, lockTimeout: Duration = .seconds(30), deviceNumbers: DeviceNumbers = .real, pciIDsFile: String? = nil,
        observer: (@Sendable (SessionEvent) -> Void)? = nil
    ) {
        self.root = root
        self.kernel = kernel
        self.executorOptions = executorOptions
        self.dryRun = dryRun
        self.effectiveUID = effectiveUID
        self.lockTimeout = lockTimeout
        self.store = StateStore(root: root)
        self.deviceNumbers = deviceNumbers
        self.pciIDsFile = pciIDsFile
        self.observer = observer
    }

    func emit(_ event: SessionEvent) {
        observer?(event)
    }

    /// Runs `body` as a change to the host: as root, under the host lock. A dry run needs
    /// neither; a call made while the lock is held (inside `apply`) reuses it.
    func changingHost<T>(_ command: String, _ body: () throws(VFIOError) -> T) throws(VFIOError) -> T {
        if dryRun || lock != nil { return try body() }
        try Privilege.requireRoot(for: command, root: root, effectiveUID: effectiveUID)
        let observer = self.observer
        lock = try HostLock.acquire(root: root, timeout: lockTimeout) { holder in observer?(.waitingForLock(holder: holder)) }
        defer {
            lock?.release()
            lock = nil
        }
        return try body()
    }

    /// A snapshot with what planning a change needs (no names from libpci). Read under the
    /// lock, so no other vfioctl changes it before this one acts.
    func inventory() throws(VFIOError) -> HostInventory {
        try InventoryReader(root: root, database: nil, fields: .forChanges).read()
    }

    func holderFinder(options: HolderFinder.Options = .init()) -> HolderFinder {
        HolderFinder(root: root, options: options, deviceNumbers: deviceNumbers)
    }

    func holderWaiter(finderOptions: HolderFinder.Options = .init()) -> HolderWaiter {
        HolderWaiter(root: root, finderOptions: finderOptions, deviceNumbers: deviceNumbers)
    }

    /// One bounded, event-driven wait until no process holds `devices`, within what is left of
    /// `timeout` since `started` (a service may wait in rounds, planning again in between): the
    /// live progress is reported as `SessionEvent`s that count the whole wait.
    func waitForHolders(
        _ devices: [PCIAddress], timeout: Duration, since started: ContinuousClock.Instant, finderOptions: HolderFinder.Options = .init()
    ) throws(VFIOError) -> WaitOutcome {
        let clock = ContinuousClock()
        let remaining = max(.zero, timeout - (clock.now - started))
        let result = try holderWaiter(finderOptions: finderOptions).waitUntilFree(devices: devices, timeout: remaining) { progress in
            guard !progress.report.isFree else { return }
            self.emit(.waitingForHolders(WaitProgress(elapsed: clock.now - started, timeout: timeout, report: progress.report)))
        }
        emit(.waitEnded)
        return result
    }

    func executor() -> Executor {
        var onEvent: (@Sendable (ExecutorEvent) -> Void)?
        if let observer { onEvent = { observer(.step($0)) } }
        return Executor(root: root, kernel: kernel, options: executorOptions, onEvent: onEvent)
    }
}
