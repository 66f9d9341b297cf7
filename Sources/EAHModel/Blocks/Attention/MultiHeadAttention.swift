import EAHCore

/// Eager scaled dot-product attention over row-major head-interleaved buffers, with explicit
/// per-head probability matrices (so hooks can see and rewrite them).
///
/// Queries are `queryCount × (headCount·headDim)`; keys and values `keyCount ×
/// (kvHeadCount·headDim)`; query head `h` uses key/value head `h / (headCount / kvHeadCount)`.
enum MultiHeadAttention {
    /// A single-threaded pool for work already split over heads.
    static let serial = ThreadPool(threadCount: 1)

    struct Shape {
        let queryCount: Int
        let keyCount: Int
        let headCount: Int
        let kvHeadCount: Int
        let headDim: Int
    }

    /// Writes the attention output (`queryCount × headCount·headDim`) to `output`.
    ///
    /// With `causalStart` set, query row `i` is absolute position `causalStart + i` and sees
    /// keys `0...causalStart + i` only; with `window` too, only the last `window` of those. `hook`, when it wants this layer and phase, sees the
    /// probabilities after the softmax and may rewrite them before they weight the values.
    static func compute(
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>, shape: Shape,
        scale: Float, causalStart: Int?, window: Int? = nil, hook: AttentionHook?, context: AttentionContext?,
        output: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let (m, n, d) = (shape.queryCount, shape.keyCount, shape.headDim)
        let group = shape.headCount / shape.kvHeadCount
        let queryStride = shape.headCount * d, keyStride = shape.kvHeadCount * d
        let probabilities = UnsafeMutablePointer<Float>.allocate(capacity: shape.headCount * m * n)
        defer { probabilities.deallocate() }
        let wanted = hook != nil && context.map { hook!.wants(layer: $0.layer, phase: $0.phase) } == true
        let shared = wanted ? context.flatMap { hook!.sharedMap(layer: $0.layer, phase: $0.phase) } : nil
        let copies = shared.map { shared in (shared.targets ?? Array(0..<shape.headCount)).filter { $0 != shared.head && $0 < shape.headCount } } ?? []
        let skipped = Set(copies)
        pool.parallelFor(shape.headCount) { head in
            guard !skipped.contains(head) else { return }
            let scores = probabilities + head * m * n
            let kvHead = head / group
            MatrixMultiply.multiplyTransposed(queries + head * d, lda: queryStride, keys + kvHead * d, ldb: keyStride,
                                              into: scores, ldc: n, m: m, n: n, k: d, pool: serial)
            for row in 0..<m {
                let rowScores = scores + row * n
                let visible = causalStart.map { min(n, $0 + row + 1) } ?? n
                let first = window.map { max(0, visible - $0) } ?? 0
                for column in 0..<first { rowScores[column] = -.infinity }
                for column in first..<visible { rowScores[column] *= scale }
                for column in visible..<n { rowScores[column] = -.infinity }
            }
            VectorMath.softmaxRows(scores, rows: m, width: n)
        }
        if let shared {
            for target in copies { (probabilities + target * m * n).update(from: probabilities + shared.head * m * n, count: m * n) }
        }
        if let hook, let context, wanted {
            hook.attention(AttentionProbabilities(base: probabilities, headCount: shape.headCount, queryCount: m, keyCount: n), context: context)
        }
        pool.parallelFor(shape.headCount) { head in
            MatrixMultiply.multiply(probabilities + head * m * n, lda: n, values + (head / group) * d, ldb: keyStride,
                                    into: output + head * d, ldc: queryStride, m: m, n: d, k: n, pool: serial)
        }
    }
}
