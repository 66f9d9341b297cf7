/// Matrix products on F32 activations, row-major, with leading dimensions so per-head views
/// of interleaved tensors need no copies.
///
/// Reference implementation: plain loops. The tuned kernels replace the bodies and keep the
/// signatures and semantics.
public enum MatrixMultiply {
    /// `c[i, j] = Σ_p a[i, p] · b[j, p]` for i < m, j < n, p < k (that is, A · Bᵀ with B stored
    /// as n rows of k). Row i of A starts at `a + i·lda`, row j of B at `b + j·ldb`, row i of C
    /// at `c + i·ldc`. C is overwritten.
    public static func multiplyTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelFor(m) { i in
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += a[i * lda + p] * b[j * ldb + p] }
                c[i * ldc + j] = sum
            }
        }
    }

    /// `c[i, j] = Σ_p a[i, p] · b[p, j]` (A · B with B stored as k rows of n). C is overwritten.
    public static func multiply(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, k: Int, pool: ThreadPool = .shared
    ) {
        pool.parallelFor(m) { i in
            for j in 0..<n { c[i * ldc + j] = 0 }
            for p in 0..<k {
                let scale = a[i * lda + p]
                for j in 0..<n { c[i * ldc + j] += scale * b[p * ldb + j] }
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

    /// Whether `linear` has a kernel for weights of `dtype` (others are dequantized at load).
    public static func hasKernel(for dtype: DType) -> Bool {
        [.f32, .f16, .bf16, .q8_0, .q4_0].contains(dtype)
    }
}
