/// What a session reports while a service runs, for live output and logs. The outcome a
/// service returns holds everything that decides the result; events only tell progress.
public enum SessionEvent: Sendable {
    /// Another vfioctl holds the host lock (its pid when known); sent once.
    case waitingForLock(holder: Int32?)
    /// Still waiting for holders to let go: elapsed and timeout count the whole wait.
    case waitingForHolders(WaitProgress)
    /// A wait for holders ended (a status line can be cleared).
    case waitEnded
    /// The executor performed a step, is retrying a write, or is rolling a device back.
    case step(ExecutorEvent)
}
