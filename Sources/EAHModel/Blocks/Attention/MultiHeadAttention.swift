import EAHCore

/// Eager scaled dot-product attention over row-major head-interleaved buffers, computed in
/// blocks of query rows so that no layer holds a [heads, queries, keys] probability tensor.
///
/// Queries are `queryCount × (headCount·headDim)`; keys and values `keyCount ×
/// (kvHeadCount·headDim)`; query head `h` uses key/value head `h / (headCount / kvHeadCount)`.
/// Per head and block of `rowBlock` rows: scores, mask, softmax, then the value product. A hook
/// (EAH) sees what its `AttentionPlan` asks for: per-head column sums of the probabilities
/// (sink counting) and one head whose map replaces other heads' (the broadcast); that map is
/// computed block by block, once per block, for all its targets.
enum MultiHeadAttention {
    /// A single-threaded pool for work already split over heads or blocks.
    static let serial = ThreadPool(threadCount: 1)
    /// Query rows per block: scratch is `rowBlock × keyCount` floats per worker.
    static let rowBlock = 64

    struct Shape {
        let queryCount: Int
        let keyCount: Int
        let headCount: Int
        let kvHeadCount: Int
        let headDim: Int
    }

    /// Everything one computation shares: the buffers, shape, scale and mask.
    private struct Problem: @unchecked Sendable {
        let queries: UnsafePointer<Float>
        let keys: UnsafePointer<Float>
        let values: UnsafePointer<Float>
        let output: UnsafeMutablePointer<Float>
        let shape: Shape
        let scale: Float
        let causalStart: Int?
        let window: Int?
        /// KV-index ranges whose rows see the whole range (Gemma 3's image blocks in a prefill).
        let bidirectional: [Range<Int>]

        var group: Int { shape.headCount / shape.kvHeadCount }
        var queryStride: Int { shape.headCount * shape.headDim }
        var keyStride: Int { shape.kvHeadCount * shape.headDim }

        /// The keys row `row` may see: `first..<end`. A row inside a bidirectional block also
        /// sees the block's later keys; the window still bounds the earlier ones (transformers'
        /// AND(sliding window, OR(causal, block))).
        func visible(_ row: Int) -> (first: Int, end: Int) {
            guard let start = causalStart else { return (window.map { max(0, shape.keyCount - $0) } ?? 0, shape.keyCount) }
            let position = start + row
            var end = min(shape.keyCount, position + 1)
            if let block = bidirectional.first(where: { $0.contains(position) }) { end = max(end, min(shape.keyCount, block.upperBound)) }
            return (window.map { max(0, position + 1 - $0) } ?? 0, end)
        }

        /// Probabilities of `head` for rows `rows` into `scores` (`rows.count × width`, where
        /// `width` covers every visible key of the block); returns `width`.
        func probabilities(head: Int, rows: Range<Int>, into scores: UnsafeMutablePointer<Float>) -> Int {
            let width = bidirectional.isEmpty ? visible(rows.upperBound - 1).end : rows.map { visible($0).end }.max()!
            let d = shape.headDim
            MatrixMultiply.multiplyTransposed(queries + rows.lowerBound * queryStride + head * d, lda: queryStride,
                                              keys + (head / group) * d, ldb: keyStride,
                                              into: scores, ldc: width, m: rows.count, n: width, k: d, pool: MultiHeadAttention.serial)
            for (index, row) in rows.enumerated() {
                let rowScores = scores + index * width
                let (first, end) = visible(row)
                for column in 0..<first { rowScores[column] = -.infinity }
                for column in first..<end { rowScores[column] *= scale }
                for column in end..<width { rowScores[column] = -.infinity }
            }
            VectorMath.softmaxRows(scores, rows: rows.count, width: width)
            return width
        }

        /// `output` rows `rows` of `head`: `probabilities × values` of the head's KV group.
        func weightValues(_ probabilities: UnsafePointer<Float>, width: Int, rows: Range<Int>, head: Int) {
            let d = shape.headDim
            MatrixMultiply.multiply(probabilities, lda: width, values + (head / group) * d, ldb: keyStride,
                                    into: output + rows.lowerBound * queryStride + head * d, ldc: queryStride,
                                    m: rows.count, n: d, k: width, pool: MultiHeadAttention.serial)
        }

        var blocks: [Range<Int>] {
            stride(from: 0, to: shape.queryCount, by: rowBlock).map { $0..<min($0 + rowBlock, shape.queryCount) }
        }
    }

    /// Writes the attention output (`queryCount × headCount·headDim`) to `output`.
    ///
    /// With `causalStart` set, query row `i` is KV index `causalStart + i` and sees keys
    /// `0...causalStart + i` only; with `window` too, only the last `window` of those; a row in a
    /// `bidirectional` range also sees that range's later keys. `hook`
    /// gets the column sums its plan asks for and chooses the head to broadcast.
    static func compute(
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, shape: Shape,
        scale: Float, causalStart: Int?, window: Int? = nil, bidirectional: [Range<Int>] = [],
        hook: AttentionHook?, context: AttentionContext?,
        output: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let problem = Problem(queries: queries, keys: keys, values: values, output: output, shape: shape, scale: scale,
                              causalStart: causalStart, window: window, bidirectional: bidirectional)
        let heads = shape.headCount, m = shape.queryCount, n = shape.keyCount
        let plan = context.flatMap { hook?.plan(for: $0) } ?? AttentionPlan()
        let columns = (plan.countedColumns ?? []).filter { $0 >= 0 && $0 < n }
        let targets = (plan.broadcastTargets ?? Array(0..<heads)).filter { $0 >= 0 && $0 < heads }
        // A head known before attention and no counting: its targets' own maps are never computed.
        var skipped = Set<Int>()
        if plan.countedColumns == nil, let head = plan.broadcastHead, head < heads { skipped = Set(targets).subtracting([head]) }

        let start = causalStart ?? 0
        let sums = UnsafeMutablePointer<Double>.allocate(capacity: max(1, heads * columns.count))
        sums.initialize(repeating: 0, count: max(1, heads * columns.count))
        defer { sums.deallocate() }
        let sumsAddress = UnsafeMutablePointerBox(sums)
        pool.parallelFor(heads) { head in
            guard !skipped.contains(head) else { return }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: min(rowBlock, m) * n)
            defer { scratch.deallocate() }
            let headSums = sumsAddress.pointer + head * columns.count
            for rows in problem.blocks {
                let width = problem.probabilities(head: head, rows: rows, into: scratch)
                // Column sums over the rows after each column; each column adds its rows in
                // ascending order (as the reference), row by row for contiguous reads.
                for (offset, row) in rows.enumerated() {
                    let probabilities = scratch + offset * width, position = start + row
                    for (index, column) in columns.enumerated() where column < position && column < width {
                        headSums[index] += Double(probabilities[column])
                    }
                }
                problem.weightValues(scratch, width: width, rows: rows, head: head)
            }
        }
        var broadcast = plan.broadcastHead
        if let hook, let context, plan.countedColumns != nil {
            let rowsAfter = columns.map { column in m - min(m, max(0, column - start + 1)) }
            let chosen = hook.columnSums(AttentionColumnSums(columns: columns, headCount: heads, rowsAfter: rowsAfter,
                                                             sums: Array(UnsafeBufferPointer(start: sums, count: heads * columns.count))),
                                         context: context)
            broadcast = broadcast ?? chosen
        }
        guard let source = broadcast, source < heads else { return }
        let receivers = targets.filter { $0 != source }
        guard !receivers.isEmpty else { return }
        // The source head's map, block by block, weights each receiver's own values.
        let blocks = problem.blocks
        pool.parallelFor(blocks.count) { index in
            let rows = blocks[index]
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * n)
            defer { scratch.deallocate() }
            let width = problem.probabilities(head: source, rows: rows, into: scratch)
            for target in receivers { problem.weightValues(scratch, width: width, rows: rows, head: target) }
        }
    }
}

/// A pointer handed to parallel workers that write disjoint ranges.
private struct UnsafeMutablePointerBox: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Double>
    init(_ pointer: UnsafeMutablePointer<Double>) { self.pointer = pointer }
}
