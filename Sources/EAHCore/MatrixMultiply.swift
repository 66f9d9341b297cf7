/// Matrix products on F32 activations, row-major, with leading dimensions so per-head views
/// of interleaved tensors need no copies.
///
/// Products with more than a few rows run on `GEMMKernel` (packed panels, a 6 × 32 SIMD16
/// FMA microkernel, k blocking); `linear` with ≤ 4 input rows (decode) and `multiplyTransposed`
/// with ≤ 4 rows of A run fused row dot products that stream B / W once. Results agree with a
/// float64 reference within float32 summation-order error; they are not bit-exact to the plain
/// loops, and do not depend on the pool's thread count.
public enum MatrixMultiply {
    /// Row counts up to this use row dot products instead of the blocked kernel.
    static let dotRowLimit = 4

    /// `c[i, j] = Σ_p a[i, p] · b[j, p]` for i < m, j < n, p < k (that is, A · Bᵀ with B stored
    /// as n rows of k). Row i of A starts at `a + i·lda`, row j of B at `b + j·ldb`, row i of C
    /// at `c + i·ldc`. C is overwritten.
    public static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, pool: ThreadPool = .shared
    ) {
        guard m > 0, n > 0 else { return }
        if m <= dotRowLimit {
            rowDots(rows: n, bytesPerRow: 4 * k, pool: pool) { j in
                let row = UnsafeRawPointer(b + j * ldb)
                for i in 0..<m { c[i * ldc + j] = WeightRowKernels.dot(row, dtype: .f32, a + i * lda, count: k) }
            }
            return
        }
        let nr = GEMMKernel.nr
        GEMMKernel.run(a, lda: lda, m: m, n: n, k: k, into: c, ldc: ldc, bias: nil, pool: pool) { column, count, depth, depthCount, panel in
            for j in 0..<count {
                let source = b + (column + j) * ldb + depth
                for p in 0..<depthCount { panel[p * nr + j] = source[p] }
            }
            if count < nr {
                for p in 0..<depthCount { for j in count..<nr { panel[p * nr + j] = 0 } }
            }
        }
    }

    /// `c[i, j] = Σ_p a[i, p] · b[p, j]` (A · B with B stored as k rows of n). C is overwritten.
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, pool: ThreadPool = .shared
    ) {
        let nr = GEMMKernel.nr
        GEMMKernel.run(a, lda: lda, m: m, n: n, k: k, into: c, ldc: ldc, bias: nil, pool: pool) { column, count, depth, depthCount, panel in
            for p in 0..<depthCount {
                let source = b + (depth + p) * ldb + column
                let target = panel + p * nr
                target.update(from: source, count: count)
                if count < nr { (target + count).update(repeating: 0, count: nr - count) }
            }
        }
    }

    /// A Linear layer: `y[i, r] = Σ_c x[i, c] · W[r, c] + bias[r]` for `count` input rows, with
    /// W in its stored type (F32, F16, BF16, Q8_0, Q4_0 at least). `x` is `count × columns`,
    /// `y` is `count × rows`, both dense.
    public static func linear(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) {
        let columns = weight.columns, rows = weight.rows, dtype = weight.dtype
        guard count > 0, rows > 0 else { return }
        guard WeightRowKernels.supports(dtype), let base = weight.data.baseAddress else {
            referenceLinear(x, count: count, weight: weight, bias: bias, into: y, pool: pool)
            return
        }
        let rowBytes = weight.rowBytes
        if count <= dotRowLimit {
            guard WeightRowKernels.hasPermutedDot(dtype) else {
                rowDots(rows: rows, bytesPerRow: rowBytes, pool: pool) { r in
                    let row = base + r * rowBytes
                    let offset = bias?[r] ?? 0
                    for i in 0..<count {
                        y[i * rows + r] = WeightRowKernels.dot(row, dtype: dtype, x + i * columns, count: columns) + offset
                    }
                }
                return
            }
            let permuted = UnsafeMutablePointer<Float>.allocate(capacity: count * columns)
            defer { permuted.deallocate() }
            for i in 0..<count {
                WeightRowKernels.permuteInput(x + i * columns, count: columns, dtype: dtype, into: permuted + i * columns)
            }
            rowDots(rows: rows, bytesPerRow: rowBytes, pool: pool) { r in
                let row = base + r * rowBytes
                let offset = bias?[r] ?? 0
                for i in 0..<count {
                    y[i * rows + r] = WeightRowKernels.dotPermuted(row, dtype: dtype, permuted + i * columns, count: columns) + offset
                }
            }
            return
        }
        let nr = GEMMKernel.nr
        if dtype == .f32 {
            // F32 rows are read straight into the panel, as `multiplyTransposed` does.
            let weights = base.assumingMemoryBound(to: Float.self)
            GEMMKernel.run(x, lda: columns, m: count, n: rows, k: columns, into: y, ldc: rows, bias: bias, pool: pool) { column, width, depth, depthCount, panel in
                for j in 0..<width {
                    let source = weights + (column + j) * columns + depth
                    for p in 0..<depthCount { panel[p * nr + j] = source[p] }
                }
                if width < nr {
                    for p in 0..<depthCount { for j in width..<nr { panel[p * nr + j] = 0 } }
                }
            }
            return
        }
        GEMMKernel.run(x, lda: columns, m: count, n: rows, k: columns, into: y, ldc: rows, bias: bias, pool: pool) { column, width, depth, depthCount, panel in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: GEMMKernel.kc) { buffer in
                guard let decoded = buffer.baseAddress else { return }
                for j in 0..<width {
                    WeightRowKernels.decode(base + (column + j) * rowBytes, dtype: dtype, first: depth, count: depthCount, into: decoded)
                    for p in 0..<depthCount { panel[p * nr + j] = decoded[p] }
                }
            }
            if width < nr {
                for p in 0..<depthCount { for j in width..<nr { panel[p * nr + j] = 0 } }
            }
        }
    }

    /// Whether `linear` has a kernel for weights of `dtype` (others are dequantized at load).
    public static func hasKernel(for dtype: DType) -> Bool {
        WeightRowKernels.supports(dtype)
    }

    /// Calls `body(r)` for every r < rows, in contiguous chunks over the pool (a few per thread
    /// when the rows stream enough bytes to be worth it).
    static func rowDots(rows: Int, bytesPerRow: Int, pool: ThreadPool, _ body: (Int) -> Void) {
        let bytes = rows * bytesPerRow
        let threads = bytes < 1 << 16 ? 1 : pool.threadCount
        let chunks = min(rows, threads == 1 ? 1 : 4 * threads)
        let perChunk = (rows + chunks - 1) / chunks
        pool.parallelFor(chunks) { chunk in
            let end = min(rows, (chunk + 1) * perChunk)
            var r = chunk * perChunk
            while r < end { body(r); r += 1 }
        }
    }

    /// Plain loops for weight types without a kernel (each row dequantized once).
    static func referenceLinear(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, pool: ThreadPool
    ) {
        let columns = weight.columns
        pool.parallelFor(weight.rows) { r in
            let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: columns)
            defer { row.deallocate() }
            try? weight.dequantizeRow(r, into: row)
            for i in 0..<count {
                var sum: Float = 0
                for c in 0..<columns { sum += x[i * columns + c] * row[c] }
                y[i * weight.rows + r] = sum + (bias?[r] ?? 0)
            }
        }
    }
}
