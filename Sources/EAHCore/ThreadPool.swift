import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A fixed number of worker threads for data-parallel loops.
///
/// `shared` is sized to the machine's online cores; `eah-run --threads N` replaces it. The
/// body of `parallelFor` must only write memory that belongs to its own index.
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
}

private struct UncheckedIndexBody: @unchecked Sendable {
    let body: (Int) -> Void
}
