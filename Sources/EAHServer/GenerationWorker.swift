import Dispatch
import Synchronization
import EAHCore

/// Runs generations one at a time on a thread of their own (the model computes on the shared
/// thread pool, never on the server's event loops), with a bounded queue in front.
final class GenerationWorker: Sendable {
    private struct State {
        /// Jobs accepted and not finished (the running one included).
        var pending = 0
        /// Mean seconds of recent jobs (exponential average), for Retry-After.
        var averageSeconds = 5.0
    }

    /// Jobs that may wait behind the running one.
    let queueCapacity: Int
    private let queue = DispatchQueue(label: "eah.generation")
    private let state = Mutex(State())

    init(queueCapacity: Int) {
        self.queueCapacity = queueCapacity
    }

    /// Queues `job`; false when `queueCapacity` jobs already wait.
    func submit(_ job: @escaping @Sendable () -> Void) -> Bool {
        let accepted = state.withLock { state in
            guard state.pending <= queueCapacity else { return false }
            state.pending += 1
            return true
        }
        guard accepted else { return false }
        queue.async {
            let start = Self.now()
            job()
            let seconds = Self.now() - start
            self.state.withLock { state in
                state.pending -= 1
                state.averageSeconds = 0.7 * state.averageSeconds + 0.3 * seconds
            }
        }
        return true
    }

    /// Seconds until a place in the queue is likely free: the mean job time, at least 1.
    var retryAfterSeconds: Int {
        state.withLock { max(1, Int(($0.averageSeconds).rounded(.up))) }
    }

    /// Jobs accepted and not finished.
    var pendingCount: Int { state.withLock { $0.pending } }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// Set by the side that stops listening (a client gone); read by the generation loop.
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)

    func cancel() { flag.store(true, ordering: .relaxed) }

    var isCancelled: Bool { flag.load(ordering: .relaxed) }
}
