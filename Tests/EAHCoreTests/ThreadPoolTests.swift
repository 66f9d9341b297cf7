import EAHCore
import Foundation
import Testing

/// The pool hands every index out exactly once, also when loops are nested, come from several
/// threads at once, or follow each other faster than the workers wake.
@Suite struct ThreadPoolTests {
    /// Counts calls per index (each index writes only its own slot).
    private static func counts(_ pool: ThreadPool, count: Int) -> [Int] {
        var hits = [Int](repeating: 0, count: count)
        hits.withUnsafeMutableBufferPointer { hits in
            let hits = UnsafeMutableSendableBuffer(hits)
            pool.parallelFor(count) { index in hits.buffer[index] += 1 }
        }
        return hits
    }

    @Test(arguments: [1, 2, 3, 5])
    func everyIndexOnce(threads: Int) {
        let pool = ThreadPool(threadCount: threads)
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            #expect(Self.counts(pool, count: count) == [Int](repeating: 1, count: count), "count \(count)")
        }
        // Back-to-back loops (the decoder's pattern): no index lost or repeated across jobs.
        for round in 0..<2000 {
            let count = 1 + round % 9
            let hits = Self.counts(pool, count: count)
            if hits != [Int](repeating: 1, count: count) {
                Issue.record("round \(round): \(hits)")
                break
            }
        }
    }

    @Test func nestedLoopsRunSerially() {
        let pool = ThreadPool(threadCount: 3)
        var sums = [Int](repeating: 0, count: 16)
        sums.withUnsafeMutableBufferPointer { sums in
            let sums = UnsafeMutableSendableBuffer(sums)
            pool.parallelFor(16) { outer in
                var total = 0
                pool.parallelFor(10) { inner in total += inner }
                ThreadPool.shared.parallelFor(5) { inner in total += inner }
                sums.buffer[outer] = total + outer
            }
        }
        #expect(sums == (0..<16).map { 45 + 10 + $0 })
    }

    @Test func loopsFromSeveralThreadsTakeTurns() {
        let pool = ThreadPool(threadCount: 2)
        let results = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
        defer { results.deallocate() }
        let shared = UnsafeMutableSendableBuffer(results)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            var total = 0
            for _ in 0..<50 {
                let hits = Self.counts(pool, count: 33)
                total += hits.reduce(0, +)
            }
            shared.buffer[caller] = total
        }
        #expect(Array(results) == [Int](repeating: 50 * 33, count: 8))
    }

    @Test func rangesCoverEverythingOnce() {
        let pool = ThreadPool(threadCount: 3)
        for (count, bytes) in [(1, 1), (10, 1 << 20), (1000, 4096), (100_000, 64)] {
            var hits = [Int](repeating: 0, count: count)
            hits.withUnsafeMutableBufferPointer { hits in
                let hits = UnsafeMutableSendableBuffer(hits)
                pool.parallelRanges(count, bytesPerItem: bytes) { range in for i in range { hits.buffer[i] += 1 } }
            }
            #expect(hits == [Int](repeating: 1, count: count), "count \(count)")
        }
    }
}

/// A buffer written by parallel workers at disjoint indices.
private struct UnsafeMutableSendableBuffer: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Int>
    init(_ buffer: UnsafeMutableBufferPointer<Int>) { self.buffer = buffer }
}
