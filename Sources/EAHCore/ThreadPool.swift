import CEAHKernels

/// The thread pool behind every data-parallel loop (matrix products, quantization, decoding).
///
/// `shared` is sized to the machine's online cores; `eah-run --threads N` replaces it, and every
/// loop that does not get a pool passed in uses `shared`. The calling thread takes part; the
/// other `threadCount − 1` threads start on the first loop and spin briefly between loops (a
/// decoder step runs hundreds of short ones) before they sleep. Indices are handed out one at a
/// time, so uneven items balance. The body of a loop must only write memory that belongs to its
/// own index or range. A loop started inside another loop's body runs serially on its thread;
/// loops started from several threads at once take turns.
public final class ThreadPool: @unchecked Sendable {
    /// Threads a loop may use (at least 1).
    public let threadCount: Int
    private let pool: OpaquePointer?

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        pool = self.threadCount > 1 ? eah_pool_create(Int32(self.threadCount)) : nil
    }

    deinit {
        eah_pool_destroy(pool)
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
        guard let pool, count > 1 else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var box = IndexBody(body: body)
            withUnsafeMutablePointer(to: &box) { context in
                eah_pool_run(pool, count, { context, index in
                    context!.assumingMemoryBound(to: IndexBody.self).pointee.body(index)
                }, context)
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

/// A loop body the C pool calls through a context pointer.
private struct IndexBody {
    let body: (Int) -> Void
}
