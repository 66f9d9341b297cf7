import EAHModel

/// Counts vision sinks in one layer's prefill attention.
///
/// Column `c` (an image position) of head `h` is a sink when the mean of `A[i, c]` over the rows
/// of positions strictly after it exceeds `beta`; a column with no later rows never is. Means
/// are accumulated in Double, as the PyTorch reference does.
public enum SinkCounter {
    /// Sink counts per head, for prefill probabilities whose query row i is position
    /// `queryStart + i` (a later turn's prompt starts after the cached positions).
    public static func counts(_ probabilities: AttentionProbabilities, imagePositions: [Int], beta: Double, queryStart: Int = 0) -> [Int] {
        let rows = probabilities.queryCount
        return (0..<probabilities.headCount).map { head in
            let matrix = probabilities.head(head)
            var count = 0
            for column in imagePositions where column + 1 < queryStart + rows && column < probabilities.keyCount {
                let firstRow = max(0, column + 1 - queryStart)
                var sum: Double = 0
                for row in firstRow..<rows { sum += Double(matrix[row * probabilities.keyCount + column]) }
                if sum / Double(rows - firstRow) > beta { count += 1 }
            }
            return count
        }
    }

    /// The densest head: the argmax of `counts`, ties to the lowest index; nil when all are 0.
    public static func densestHead(_ counts: [Int]) -> Int? {
        guard let best = counts.max(), best > 0 else { return nil }
        return counts.firstIndex(of: best)
    }
}
