import CEAHKernels

/// The blocked F32 matrix-product engine behind `MatrixMultiply`: C (m × n) = A (m × k) · Bᵀ,
/// with B supplied by a packer that writes panels of `nr` columns × `kc` depths as F32.
///
/// Layout: k is cut into blocks of `kc` (a multiple of 32, so quantized blocks never straddle);
/// a task takes its columns one micro-panel (`nr` columns) at a time and, for each k block of
/// it, packs the panel (`depth`-major, `nr` floats per depth, zero-padded) and runs the CPU's
/// 8 × 32 (AVX-512) or 6 × 32 register-blocked FMA tile (CEAHKernels) over all of its rows,
/// reading A in place. Packing and FMA work alternate, so a packer's prefetch of what comes next
/// (the panel's next k block, or the next panel's first; see `rowPacker`) arrives while tiles
/// run. Work is split over output-column blocks (and row blocks when columns are few); each C
/// element sums its k blocks in the same order whatever the split.
enum GEMMKernel {
    /// Rows of the microkernel tile: 8 where the CPU's kernels have an 8-row tile (AVX-512), else 6.
    static let mr = KernelSet.active.table.pointee.gemm_tile8 != nil ? 8 : 6
    /// Columns of the microkernel tile.
    static let nr = 32
    /// Depth of a k block.
    static let kc = 256

    /// Writes the micro-panel of output columns `column ..< column + count` (count ≤ `nr`) for
    /// depths `depth ..< depth + depthCount` to `panel`: `panel[p * nr + j]` = B[column + j, depth + p],
    /// zero for `j ≥ count`.
    typealias Packer = (_ column: Int, _ count: Int, _ depth: Int, _ depthCount: Int, _ panel: UnsafeMutablePointer<Float>) -> Void

    /// C = A · Bᵀ (+ bias per column). `a` rows start at `a + i·lda`, C rows at `c + i·ldc`.
    static func run(
        _ a: UnsafePointer<Float>, lda: Int, m: Int, n: Int, k: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?,
        pool: ThreadPool, pack: Packer
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] = bias?[j] ?? 0 } }
            return
        }
        // Column blocks of 4 micro-panels; when they do not give every thread two tasks, the
        // rows are split too (each row block repacks its columns, so keep row blocks ≥ 48 rows).
        let panels = (n + nr - 1) / nr
        let threads = pool.threadCount
        let columnBlockPanels = max(1, min(4, panels / max(1, 2 * threads)))
        let columnBlocks = (panels + columnBlockPanels - 1) / columnBlockPanels
        var rowBlocks = 1
        if columnBlocks < 2 * threads && threads > 1 {
            rowBlocks = max(1, min((2 * threads + columnBlocks - 1) / columnBlocks, m / 48))
        }
        let rowsPerBlock = (((m + rowBlocks - 1) / rowBlocks) + mr - 1) / mr * mr
        rowBlocks = (m + rowsPerBlock - 1) / rowsPerBlock
        let tasks = columnBlocks * rowBlocks
        pool.parallelFor(tasks) { task in
            let columnBlock = task % columnBlocks, rowBlock = task / columnBlocks
            let j0 = columnBlock * columnBlockPanels * nr
            let j1 = min(n, j0 + columnBlockPanels * nr)
            let i0 = rowBlock * rowsPerBlock
            let i1 = min(m, i0 + rowsPerBlock)
            guard j0 < j1, i0 < i1 else { return }
            runBlock(a, lda: lda, rows: i0..<i1, columns: j0..<j1, k: k, c: c, ldc: ldc, bias: bias, pack: pack)
        }
    }

    /// A packer for B stored as rows (`n` rows of k elements, `rowBytes` apart from `base`) in
    /// F32, F16 or BF16, by a `gemm_pack` kernel of that type (CEAHKernels): it widens and
    /// transposes each micro-panel in registers and prefetches what `runBlock` packs next.
    static func rowPacker(_ pack: eah_gemm_pack_fn, base: UnsafeRawPointer, rowBytes: Int, elementBytes: Int, k: Int) -> Packer {
        { column, count, depth, depthCount, panel in
            // The next k block of these rows, or after the last the first of the next panel's.
            let next = depth + depthCount < k ? depthCount * elementBytes : nr * rowBytes - depth * elementBytes
            pack(base + column * rowBytes + depth * elementBytes, rowBytes, Int32(count), Int32(depthCount), panel, next)
        }
    }

    /// One task: rows × columns of C over the whole depth.
    private static func runBlock(
        _ a: UnsafePointer<Float>, lda: Int, rows: Range<Int>, columns: Range<Int>, k: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, bias: UnsafePointer<Float>?, pack: Packer
    ) {
        let panelCount = (columns.count + nr - 1) / nr
        // 64-byte aligned: each depth of the panel is two cache lines, never four.
        let panelBytes = UnsafeMutableRawPointer.allocate(byteCount: kc * nr * MemoryLayout<Float>.stride, alignment: 64)
        defer { panelBytes.deallocate() }
        let panel = panelBytes.bindMemory(to: Float.self, capacity: kc * nr)
        // Edge tiles go through `scratch` (mr × nr); `initial` holds a zero-padded bias panel.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: mr * nr + nr)
        defer { scratch.deallocate() }
        let initial = scratch + mr * nr
        // Panel by panel, each over the whole depth: the packer's prefetch of a panel's next k
        // block (or, at its last, of the next panel's first) is what the task reads next.
        for panelIndex in 0..<panelCount {
            let column = columns.lowerBound + panelIndex * nr
            let width = min(nr, columns.upperBound - column)
            var depth = 0
            while depth < k {
                let depthCount = min(kc, k - depth)
                let first = depth == 0
                pack(column, width, depth, depthCount, panel)
                var start = first ? Start.zero : Start.accumulate
                if first, let bias {
                    for j in 0..<nr { initial[j] = j < width ? bias[column + j] : 0 }
                    start = .initial(UnsafePointer(initial))
                }
                var row = rows.lowerBound
                while row < rows.upperBound {
                    let height = min(mr, rows.upperBound - row)
                    let aRow = a + row * lda + depth
                    let cTile = c + row * ldc + column
                    if height == mr && width == nr {
                        micro(aRow, lda: lda, height: height, panel: panel, depthCount: depthCount,
                              c: cTile, ldc: ldc, start: start)
                    } else {
                        if !first {
                            for r in 0..<height { for j in 0..<width { scratch[r * nr + j] = cTile[r * ldc + j] } }
                        }
                        micro(aRow, lda: lda, height: height, panel: panel, depthCount: depthCount,
                              c: scratch, ldc: nr, start: start)
                        for r in 0..<height { for j in 0..<width { cTile[r * ldc + j] = scratch[r * nr + j] } }
                    }
                    row += mr
                }
                depth += depthCount
            }
        }
    }

    /// How the microkernel's accumulators begin.
    enum Start {
        case zero
        /// The same `nr` floats in every row (a bias).
        case initial(UnsafePointer<Float>)
        /// The tile's current contents of C.
        case accumulate
    }

    /// The `mr` × 32 tile: `c[r, j] (+)= Σ_p a[r, p] · panel[p, j]`, run by the CPU's
    /// `gemm_tile` kernel. Rows at or beyond `height` read row `height − 1` of A (their results
    /// are computed but belong to nobody; the caller passes a scratch tile then).
    @inline(__always)
    static func micro(
        _ a: UnsafePointer<Float>, lda: Int, height: Int, panel: UnsafePointer<Float>, depthCount: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, start: Start
    ) {
        let last = height - 1
        let rows: (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                   UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?) = (
            a, a + lda * min(1, last), a + lda * min(2, last), a + lda * min(3, last),
            a + lda * min(4, last), a + lda * min(5, last), a + lda * min(6, last), a + lda * min(7, last)
        )
        let (mode, initial): (Int32, UnsafePointer<Float>?) = switch start {
        case .zero: (0, nil)
        case .initial(let values): (1, values)
        case .accumulate: (2, nil)
        }
        let table = KernelSet.active.table
        withUnsafePointer(to: rows) { tuple in
            tuple.withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: 8) { pointers in
                if mr == 8, let tile8 = table.pointee.gemm_tile8 {
                    tile8(pointers, panel, Int32(depthCount), c, ldc, mode, initial)
                } else {
                    table.pointee.gemm_tile(pointers, panel, Int32(depthCount), c, ldc, mode, initial)
                }
            }
        }
    }
}
