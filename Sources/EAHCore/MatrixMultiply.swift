import CEAHKernels

/// Matrix products on F32 activations, row-major, with leading dimensions so per-head views
/// of interleaved tensors need no copies.
///
/// F32 products with more than a few rows run on `GEMMKernel` (packed panels, the CPU's 8 × 32
/// or 6 × 32 FMA tile, k blocking); with ≤ 4 rows they run fused row dot products that stream B
/// once.
/// `linear` multiplies weights in their stored type (`WeightTypes`): F32/F16/BF16 through the
/// same two paths, quantized types by quantizing the activations once to the type's partner
/// format (Q8_0 or Q8_K) and taking integer dot products of each weight row with each activation
/// row, tiled so a block of weight rows stays in cache while every activation row passes. Results
/// agree with a float64 reference within float32 summation-order error (plus the activation
/// quantization error for quantized types); they do not depend on the pool's thread count.
public enum MatrixMultiply {
    /// Row counts up to this use row dot products instead of the blocked kernel.
    static let dotRowLimit = 4
    /// Weight rows per task of a quantized product with many activation rows.
    static let quantizedRowBlock = 16

    /// `c[i, j] = Σ_p a[i, p] · b[j, p]` for i < m, j < n, p < k (that is, A · Bᵀ with B stored
    /// as n rows of k). Row i of A starts at `a + i·lda`, row j of B at `b + j·ldb`, row i of C
    /// at `c + i·ldc`. C is overwritten.
    public static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, pool: ThreadPool = .shared
    ) {
        guard m > 0, n > 0 else { return }
        if m <= dotRowLimit {
            let dot = KernelSet.active.dot(WeightTypes.F32.self)!
            rowDots(rows: n, bytesPerRow: 4 * k, pool: pool) { j in
                for i in 0..<m { c[i * ldc + j] = dot(Int32(k), b + j * ldb, a + i * lda) }
            }
            return
        }
        let pack = GEMMKernel.rowPacker(KernelSet.active.gemmPack(WeightTypes.F32.self)!, base: UnsafeRawPointer(b),
                                        rowBytes: 4 * ldb, elementBytes: 4, k: k)
        GEMMKernel.run(a, lda: lda, m: m, n: n, k: k, into: c, ldc: ldc, bias: nil, pool: pool, pack: pack)
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
    /// W in its stored type (every type in `WeightTypes`; others are decoded row by row).
    /// `x` is `count × columns`, `y` is `count × rows`, both dense.
    public static func linear(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, pool: ThreadPool = .shared
    ) {
        linear(x, count: count, weight: weight, bias: bias, into: y, pool: pool, kernels: .active)
    }

    /// `linear` with a chosen kernel variant (tests compare variants).
    static func linear(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, pool: ThreadPool, kernels: KernelSet
    ) {
        let rows = weight.rows
        guard count > 0, rows > 0 else { return }
        guard let type = WeightTypes.type(of: weight.dtype), let dot = kernels.dot(type), let base = weight.data.baseAddress else {
            referenceLinear(x, count: count, weight: weight, bias: bias, into: y, pool: pool)
            return
        }
        if count > dotRowLimit, let pack = kernels.gemmPack(type) {
            floatGEMM(x, count: count, weight: weight, base: base, elementBytes: type.blockBytes, bias: bias, into: y, pool: pool, pack: pack)
            return
        }
        if let panel = kernels.panel(type), count > dotRowLimit || kernels.panelDot(type) != nil {
            panelLinear(x, count: count, weight: weight, base: base, bias: bias, into: y, pool: pool, panel: panel,
                        rowDot: count > dotRowLimit ? nil : kernels.panelDot(type))
            return
        }
        let columns = weight.columns, rowBytes = weight.rowBytes
        // Activations in the partner format (F32 rows are used in place).
        let activationBytes = type.activation.rowBytes(columns)
        var quantized: UnsafeMutableRawPointer?
        if type.activation != .f32 {
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * activationBytes), alignment: 64)
            pool.parallelRanges(count, bytesPerItem: 4 * columns) { range in
                for i in range {
                    kernels.quantize(x + i * columns, columns: columns, to: type.activation, into: buffer + i * activationBytes)
                }
            }
            quantized = buffer
        }
        defer { quantized?.deallocate() }
        let activations = UnsafeRawPointer(quantized ?? UnsafeMutableRawPointer(mutating: x))
        let n = Int32(columns)
        if count <= dotRowLimit {
            rowDots(rows: rows, bytesPerRow: rowBytes, pool: pool) { r in
                let row = base + r * rowBytes, offset = bias?[r] ?? 0
                for i in 0..<count { y[i * rows + r] = dot(n, row, activations + i * activationBytes) + offset }
            }
            return
        }
        // Each task: a block of weight rows (kept in L1) against every activation row (in L2),
        // four activation rows per call where the CPU variant has a four-row kernel.
        let block = quantizedRowBlock, dot4 = kernels.dot4(type)
        pool.parallelFor((rows + block - 1) / block) { task in
            let first = task * block, end = min(rows, first + block)
            var i = 0
            if let dot4 {
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 4) { sums in
                    while i + 4 <= count {
                        let activation = activations + i * activationBytes
                        for r in first..<end {
                            dot4(n, base + r * rowBytes, activation, activationBytes, sums.baseAddress!)
                            let offset = bias?[r] ?? 0
                            for a in 0..<4 { y[(i + a) * rows + r] = sums[a] + offset }
                        }
                        i += 4
                    }
                }
            }
            while i < count {
                let activation = activations + i * activationBytes, output = y + i * rows
                for r in first..<end { output[r] = dot(n, base + r * rowBytes, activation) + (bias?[r] ?? 0) }
                i += 1
            }
        }
    }

    /// Weight rows a panel product packs per task (the width of its kernel).
    static let panelRows = 16

    /// A quantized product on the panel format: activations quantized once into it; with many
    /// activation rows each task packs 16 weight rows (interleaved so one VNNI instruction serves
    /// 16 rows) and runs every activation row past them; with few, `rowDot` takes each weight
    /// row as stored.
    private static func panelLinear(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, base: UnsafeRawPointer, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, pool: ThreadPool, panel: (kernel: eah_panel_fn, quantize: eah_quantize_fn),
        rowDot: eah_vec_dot_fn?
    ) {
        let rows = weight.rows, columns = weight.columns, rowBytes = weight.rowBytes, n = Int32(columns)
        let activationBytes = eah_panel_activation_bytes(n)
        let activations = UnsafeMutableRawPointer.allocate(byteCount: max(1, count * activationBytes), alignment: 64)
        defer { activations.deallocate() }
        pool.parallelRanges(count, bytesPerItem: 4 * columns) { range in
            for i in range { panel.quantize(x + i * columns, activations + i * activationBytes, n) }
        }
        if let rowDot {
            // Few activation rows (decode): one row product per weight row, no packing.
            rowDots(rows: rows, bytesPerRow: rowBytes, pool: pool) { r in
                let row = base + r * rowBytes, offset = bias?[r] ?? 0
                for i in 0..<count { y[i * rows + r] = rowDot(n, row, activations + i * activationBytes) + offset }
            }
            return
        }
        let block = panelRows
        pool.parallelFor((rows + block - 1) / block) { task in
            let first = task * block, height = min(block, rows - first)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: eah_panel_scratch_bytes(n), alignment: 64)
            defer { scratch.deallocate() }
            panel.kernel(n, base + first * rowBytes, rowBytes, Int32(height), activations, activationBytes, Int32(count),
                         y + first, rows, scratch)
            if let bias {
                for i in 0..<count { for r in first..<(first + height) { y[i * rows + r] += bias[r] } }
            }
        }
    }

    /// F32/F16/BF16 weights with many input rows: the blocked GEMM, rows widened into its panels
    /// by the variant's `gemm_pack` kernel.
    private static func floatGEMM(
        _ x: UnsafePointer<Float>, count: Int, weight: WeightMatrix, base: UnsafeRawPointer, elementBytes: Int,
        bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>, pool: ThreadPool, pack: eah_gemm_pack_fn
    ) {
        let columns = weight.columns
        let packer = GEMMKernel.rowPacker(pack, base: base, rowBytes: weight.rowBytes, elementBytes: elementBytes, k: columns)
        GEMMKernel.run(x, lda: columns, m: count, n: weight.rows, k: columns, into: y, ldc: weight.rows, bias: bias, pool: pool, pack: packer)
    }

    /// Whether `linear` multiplies weights of `dtype` in their stored type (others are
    /// dequantized at load).
    public static func hasKernel(for dtype: DType) -> Bool {
        WeightTypes.hasKernel(dtype)
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
