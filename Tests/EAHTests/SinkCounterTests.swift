import EAH
import EAHModel
import Testing

@Suite("vision-sink counting")
struct SinkCounterTests {
    @Test("a column is a sink when its mean over the rows after it exceeds beta")
    func meansOverRowsAfter() {
        // Two heads, image columns 1 and 2 of a 4-row prefill: rows after them 2 and 1.
        // Head 0: column 1 sums 0.7 (mean 0.35), column 2 sums 0.1. Head 1: 0.1 (0.05) and 0.4.
        let sums = AttentionColumnSums(columns: [1, 2], headCount: 2, rowsAfter: [2, 1], sums: [0.7, 0.1, 0.1, 0.4])
        #expect(SinkCounter.counts(sums, beta: 0.2) == [1, 1])
        #expect(SinkCounter.counts(sums, beta: 0.08) == [2, 1])
        #expect(SinkCounter.counts(sums, beta: 0.5) == [0, 0])
    }

    @Test("a column with no rows after it is never a sink")
    func noLaterRows() {
        let sums = AttentionColumnSums(columns: [3], headCount: 1, rowsAfter: [0], sums: [0])
        #expect(SinkCounter.counts(sums, beta: 0) == [0])
    }
}
