import EAH
import EAHModel
import Testing

@Suite("vision-sink counting")
struct SinkCounterTests {
    /// Counts for `rows` (row-major, one head per matrix) whose first row is `queryStart`.
    static func counts(_ heads: [[Float]], keys: Int, queryStart: Int, imagePositions: [Int], beta: Double) -> [Int] {
        var values = heads.flatMap { $0 }
        return values.withUnsafeMutableBufferPointer { buffer in
            let probabilities = AttentionProbabilities(base: buffer.baseAddress!, headCount: heads.count,
                                                       queryCount: heads[0].count / keys, keyCount: keys)
            return SinkCounter.counts(probabilities, imagePositions: imagePositions, beta: beta, queryStart: queryStart)
        }
    }

    @Test("a prefill from position 0: a column's mean over the rows after it")
    func fromStart() {
        // Rows are positions 0...3, keys 0...3; image columns 1 and 2. Head 0: column 1 gets
        // (0.5 + 0.2) / 2 = 0.35 from rows 2, 3; column 2 gets 0.1 from row 3. Head 1: 0.05, 0.4.
        let head0: [Float] = [1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.2, 0.5, 0.3, 0, 0.2, 0.2, 0.1, 0.5]
        let head1: [Float] = [1, 0, 0, 0, 0.5, 0.5, 0, 0, 0.9, 0.1, 0, 0, 0.3, 0, 0.4, 0.3]
        #expect(Self.counts([head0, head1], keys: 4, queryStart: 0, imagePositions: [1, 2], beta: 0.2) == [1, 1])
        #expect(Self.counts([head0, head1], keys: 4, queryStart: 0, imagePositions: [1, 2], beta: 0.08) == [2, 1])
    }

    @Test("a later turn's prefill: rows are positions queryStart..., every row after the column counts")
    func laterChunk() {
        // Rows are positions 2 and 3 (the cache holds 0 and 1); keys 0...3; image columns 1, 2.
        // Column 1: rows 2 and 3 both come after it, mean (0.5 + 0.2) / 2 = 0.35. Column 2:
        // only row 3, 0.1. Read as positions 0 and 1, column 1 would have had no later rows.
        let head: [Float] = [0.2, 0.5, 0.3, 0, 0.2, 0.2, 0.1, 0.5]
        #expect(Self.counts([head], keys: 4, queryStart: 2, imagePositions: [1, 2], beta: 0.3) == [1])
        #expect(Self.counts([head], keys: 4, queryStart: 2, imagePositions: [1, 2], beta: 0.05) == [2])
        #expect(Self.counts([head], keys: 4, queryStart: 2, imagePositions: [1, 2], beta: 0.4) == [0])
    }
}
