import VFIOHost
import VFIOModel

#if canImport(Glibc)
import Glibc
#endif

/// The outside world a front end's sessions act on. Normally the real kernel under the root
/// prefix and the process's effective uid; tests substitute a simulated kernel and stand-in
/// device numbers.
public struct HostSeams: Sendable {
    /// Builds the kernel seams for a root prefix.
    public var kernel: @Sendable (HostRoot) -> KernelInterface
    public var effectiveUID: UInt32
    public var executorOptions: ExecutorOptions
    /// What the nodes holders have open stand for, for every holder scan and wait.
    public var deviceNumbers: DeviceNumbers

    public init(
        kernel: @escaping @Sendable (HostRoot) -> KernelInterface = { KernelInterface.real(root: $0) },
        effectiveUID: UInt32 = geteuid(), executorOptions: ExecutorOptions = ExecutorOptions(), deviceNumbers: DeviceNumbers = .real
    ) {
        self.kernel = kernel
        self.effectiveUID = effectiveUID
        self.executorOptions = executorOptions
        self.deviceNumbers = deviceNumbers
    }
}

extension HostSession {
    /// A session on `root` through `seams`.
    public convenience init(
        root: HostRoot, seams: HostSeams, dryRun: Bool = false, lockTimeout: Duration = .seconds(30), pciIDsFile: String? = nil,
        observer: (@Sendable (SessionEvent) -> Void)? = nil
    ) {
        self.init(
            root: root, kernel: seams.kernel(root), executorOptions: seams.executorOptions, dryRun: dryRun, effectiveUID: seams.effectiveUID,
            lockTimeout: lockTimeout, deviceNumbers: seams.deviceNumbers, pciIDsFile: pciIDsFile, observer: observer)
    }
}
