import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Splits a run of independent blocks over the CPU cores when there is enough work.
///
/// Below about 1 MiB of bytes touched the blocks run on the calling thread; above it they are cut
/// into contiguous ranges (a few per core, each at least 256 KiB of work) run with
/// `DispatchQueue.concurrentPerform`. `body` must only touch its own range.
enum ParallelBlocks {
    static let parallelThreshold = 1 << 20
    static let minimumTaskBytes = 1 << 18

    static let coreCount: Int = {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return online > 0 ? Int(online) : 1
    }()

    /// Calls `body` with ranges covering `0..<blocks` exactly once.
    static func run(blocks: Int, bytesPerBlock: Int, _ body: (Range<Int>) -> Void) {
        guard blocks > 0 else { return }
        let (work, overflow) = blocks.multipliedReportingOverflow(by: max(1, bytesPerBlock))
        let cores = coreCount
        guard cores > 1, overflow || work >= parallelThreshold else {
            body(0..<blocks)
            return
        }
        let byWork = overflow ? Int.max : work / minimumTaskBytes
        let tasks = max(1, min(cores * 4, byWork, blocks))
        let perTask = (blocks + tasks - 1) / tasks
        withoutActuallyEscaping(body) { body in
            // Each task touches a disjoint range, so sharing the closure across threads is safe.
            let shared = UncheckedBody(body: body)
            DispatchQueue.concurrentPerform(iterations: tasks) { task in
                let start = task * perTask
                let end = min(blocks, start + perTask)
                if start < end { shared.body(start..<end) }
            }
        }
    }

    private struct UncheckedBody: @unchecked Sendable {
        let body: (Range<Int>) -> Void
    }
}
