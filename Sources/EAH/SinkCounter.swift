import EAHModel

/// Counts vision sinks in one layer's prefill attention.
///
/// Column `c` (an image position) of head `h` is a sink when the mean of `A[i, c]` over the rows
/// strictly after it (`c < i < queryCount`) exceeds `beta`; a column with no later rows never is.
/// The sums come from the attention code (accumulated in Double, rows ascending, as the PyTorch
/// reference does), so no full map is ever held.
public enum SinkCounter {
    /// Sink counts per head.
    public static func counts(_ sums: AttentionColumnSums, beta: Double) -> [Int] {
        (0..<sums.headCount).map { head in
            var count = 0
            for (index, rows) in sums.rowsAfter.enumerated() where rows > 0 {
                if sums.sum(head: head, column: index) / Double(rows) > beta { count += 1 }
            }
            return count
        }
    }

    /// Sink counts per head split by `kind(column)` (the kind of the column's image position).
    public static func countsByKind(_ sums: AttentionColumnSums, beta: Double, kind: (Int) -> String) -> [String: [Int]] {
        var result: [String: [Int]] = [:]
        for (index, column) in sums.columns.enumerated() {
            let name = kind(column)
            var counts = result[name] ?? [Int](repeating: 0, count: sums.headCount)
            let rows = sums.rowsAfter[index]
            for head in 0..<sums.headCount where rows > 0 && sums.sum(head: head, column: index) / Double(rows) > beta { counts[head] += 1 }
            result[name] = counts
        }
        return result
    }

    /// The densest head: the argmax of `counts`, ties to the lowest index; nil when all are 0.
    public static func densestHead(_ counts: [Int]) -> Int? {
        guard let best = counts.max(), best > 0 else { return nil }
        return counts.firstIndex(of: best)
    }
}
