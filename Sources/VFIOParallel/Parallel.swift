import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Spreads independent sysfs reads over a few threads. Reading a host's inventory is thousands of
/// small `openat`/`read`/`close` calls that each cost the kernel a few microseconds and share no
/// state, so on a host with many functions (which has many CPUs too) they scale with threads.
public enum Parallel {
    /// Threads worth using for `count` items: one per online CPU, at most 8, and none extra for
    /// small hosts, where starting a thread costs more than it saves.
    public static func threads(for count: Int, minimumPerThread: Int = 256) -> Int {
        let cpus = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        return max(1, min(cpus, 8, count / minimumPerThread))
    }

    /// Calls `body(range)` for `threads` contiguous slices of `0..<count`, one slice on the
    /// calling thread and the others on new threads, and returns once all are done. `body` must
    /// only touch state that its slice owns.
    static func forEachSlice(_ count: Int, threads: Int, _ body: (Range<Int>) -> Void) {
        forEachSlice(count, threads: threads) { _, range in body(range) }
    }

    /// The same, with each slice's index (0 is the calling thread's), for callers that keep one
    /// result per slice. There are `min(threads, count)` slices, at least one.
    public static func forEachSlice(_ count: Int, threads: Int, _ body: (_ index: Int, _ range: Range<Int>) -> Void) {
        let n = max(1, min(threads, count))
        func slice(_ t: Int) -> Range<Int> { (count * t / n)..<(count * (t + 1) / n) }
        if n == 1 {
            body(0, 0..<count)
            return
        }
        withoutActuallyEscaping(body) { body in
            var workers: [pthread_t] = []
            for t in 1..<n {
                let job = Unmanaged.passRetained(Job(index: t, range: slice(t), body: body)).toOpaque()
                var thread = pthread_t()
                if pthread_create(
                    &thread, nil,
                    { raw in
                        let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                        job.body(job.index, job.range)
                        return nil
                    }, job) == 0
                {
                    workers.append(thread)
                } else {
                    // No thread: do that slice here.
                    let job = Unmanaged<Job>.fromOpaque(job).takeRetainedValue()
                    job.body(job.index, job.range)
                }
            }
            body(0, slice(0))
            for thread in workers { pthread_join(thread, nil) }
        }
    }

    /// Calls `body(range)` for chunks of `0..<count` of at most `chunk` items, which `threads`
    /// threads (the calling one among them) take in turn from a shared cursor until none is
    /// left, and returns once all are done. Unlike fixed slices, this keeps every thread busy
    /// when items cost unequal time (a function's directory against a group's). `body` must only
    /// touch state its chunk owns.
    public static func forEachChunk(_ count: Int, threads: Int, chunk: Int, _ body: (Range<Int>) -> Void) {
        let chunk = max(1, chunk)
        let cursor = Cursor()
        forEachSlice(max(1, min(threads, (count + chunk - 1) / chunk)), threads: threads) { _, _ in
            while true {
                let start = cursor.next.wrappingAdd(chunk, ordering: .relaxed).oldValue
                guard start < count else { return }
                body(start..<min(count, start + chunk))
            }
        }
    }

    private final class Cursor: Sendable {
        let next = Atomic<Int>(0)
    }

    private final class Job {
        let index: Int
        let range: Range<Int>
        let body: (Int, Range<Int>) -> Void
        init(index: Int, range: Range<Int>, body: @escaping (Int, Range<Int>) -> Void) {
            self.index = index
            self.range = range
            self.body = body
        }
    }
}
