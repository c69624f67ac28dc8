import SystemPackage

/// How patient the executor is with the kernel.
public struct ExecutorOptions: Sendable {
    /// Extra attempts for a write that fails with EBUSY or EAGAIN (probe deferral, a group fd
    /// whose release is still running — docs/kernel-notes.md, "Waiting for holders").
    public var busyRetries: Int
    /// The first retry delay; it doubles on each attempt.
    public var retryDelay: Duration
    /// How long the `driver` link may take to show the result. `drivers_probe` and `bind` are
    /// synchronous, so this only covers udev or another agent racing with us.
    public var verifyTimeout: Duration
    public var pollInterval: Duration

    public init(
        busyRetries: Int = 3, retryDelay: Duration = .milliseconds(100), verifyTimeout: Duration = .milliseconds(250),
        pollInterval: Duration = .milliseconds(10)
    ) {
        self.busyRetries = busyRetries
        self.retryDelay = retryDelay
        self.verifyTimeout = verifyTimeout
        self.pollInterval = pollInterval
    }
}

/// A step that failed, with what the kernel said.
public struct StepFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var address: PCIAddress?
    public var step: OperationStep
    public var errno: Errno?
    public var message: String

    public var description: String { message }

    public init(address: PCIAddress? = nil, step: OperationStep, errno: Errno? = nil, message: String) {
        self.address = address
        self.step = step
        self.errno = errno
        self.message = message
    }
}

/// One device's change inside a transaction: where it was, where it goes, and how.
public struct DeviceChange: Sendable, Equatable {
    public var address: PCIAddress
    public var group: Int?
    /// Where a rollback returns it.
    public var original: DriverState
    public var target: DriverState
    public var steps: [OperationStep]

    public init(address: PCIAddress, group: Int?, original: DriverState, target: DriverState, steps: [OperationStep]) {
        self.address = address
        self.group = group
        self.original = original
        self.target = target
        self.steps = steps
    }

    public init(_ move: DeviceMove) {
        self.init(address: move.address, group: move.group, original: move.from, target: move.to, steps: move.steps)
    }
}

/// What a transaction did.
public enum TransactionOutcome: Sendable, Equatable {
    /// Every change was made and verified.
    case completed
    /// A step failed; every device touched was returned to its original state and verified.
    case rolledBack(failure: StepFailure, restored: [PCIAddress])
    /// A step failed and some devices could not be returned; `stranded` says where they are.
    case rollbackFailed(failure: StepFailure, restored: [PCIAddress], stranded: [StrandedDevice])

    public struct StrandedDevice: Sendable, Equatable {
        public var address: PCIAddress
        /// What sysfs shows now.
        public var current: DriverState
        public var failure: StepFailure

        public init(address: PCIAddress, current: DriverState, failure: StepFailure) {
            self.address = address
            self.current = current
            self.failure = failure
        }
    }
}

/// Progress the executor reports as it goes (for `--verbose`).
public enum ExecutorEvent: Sendable {
    case performed(OperationStep)
    case retrying(SysfsWrite, Errno, attempt: Int)
    case rollingBack(PCIAddress, to: DriverState)
}
