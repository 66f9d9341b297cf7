import Dispatch

/// The thread pool behind every data-parallel loop (matrix products, quantization, decoding).
///
/// `shared` is sized to the machine's online cores; `eah-run --threads N` replaces it, and every
/// loop that does not get a pool passed in uses `shared`. The body of a loop must only write
/// memory that belongs to its own index or range.
public final class ThreadPool: @unchecked Sendable {
    /// Threads a loop may use (at least 1).
    public let threadCount: Int

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
    }

    /// The machine's online core count.
    public static let coreCount: Int = {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return online > 0 ? Int(online) : 1
    }()

    /// The pool used when none is given: one thread per core.
    nonisolated(unsafe) public static var shared = ThreadPool(threadCount: coreCount)

    /// Calls `body(index)` for every index in `0..<count`, spread over the pool's threads;
    /// returns when all calls have finished.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if threadCount == 1 || count == 1 {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let shared = UncheckedIndexBody(body: body)
            let tasks = min(count, threadCount)
            DispatchQueue.concurrentPerform(iterations: tasks) { task in
                var index = task
                while index < count {
                    shared.body(index)
                    index += tasks
                }
            }
        }
    }

    /// Calls `body` with contiguous ranges that cover `0..<count` exactly once. Below about
    /// 1 MiB of work (`count · bytesPerItem`) everything runs on the calling thread; above it the
    /// items are cut into a few ranges per thread, each at least 256 KiB of work.
    public func parallelRanges(_ count: Int, bytesPerItem: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let (work, overflow) = count.multipliedReportingOverflow(by: max(1, bytesPerItem))
        guard threadCount > 1, overflow || work >= 1 << 20 else {
            body(0..<count)
            return
        }
        let tasks = max(1, min(4 * threadCount, overflow ? Int.max : work >> 18, count))
        let perTask = (count + tasks - 1) / tasks
        parallelFor(tasks) { task in
            let start = task * perTask, end = min(count, start + perTask)
            if start < end { body(start..<end) }
        }
    }
}

private struct UncheckedIndexBody: @unchecked Sendable {
    let body: (Int) -> Void
}
