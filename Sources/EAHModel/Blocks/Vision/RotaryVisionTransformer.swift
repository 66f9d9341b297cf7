import EAHCore

/// A vision transformer over an image's own patch grid with 2D rotary positions and a patch
/// merger (Qwen2-VL, Qwen2.5-VL), described by data.
///
/// Patches arrive flattened as the processor lays them out: merge groups of `merge × merge`
/// patches kept together (grid order `(t, h/m, w/m, m, m)`), each patch `(channels, temporal,
/// patch, patch)` values, which is the Conv3d kernel's order, so the patch embedding is one
/// matrix product. No class token, no learned positions: each head rotates its first half by
/// the patch's row and its second half by its column (θ `ropeTheta`, `headDim/4` frequencies).
public struct RotaryViTSpec: Sendable, Equatable {
    public enum Norm: Sendable, Equatable {
        /// `nn.LayerNorm` (weight and bias).
        case layerNorm
        /// RMSNorm (weight only).
        case rmsNorm
    }

    public enum MLP: Sendable, Equatable {
        /// `fc2(act(fc1(x)))` (Qwen2-VL: quick_gelu).
        case plain(Activation)
        /// `down(act(gate(x)) · up(x))`, every projection with a bias (Qwen2.5-VL: SiLU).
        case gated(Activation)
    }

    public var hiddenSize: Int
    public var headCount: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var channelCount: Int
    public var patchSize: Int
    public var temporalPatchSize: Int
    public var mergeSize: Int
    public var norm: Norm
    public var normEps: Float
    public var mlp: MLP
    public var ropeTheta: Double
    /// Window attention (Qwen2.5-VL): windows of this many pixels a side, in every layer but
    /// `fullAttentionLayers`; nil: every layer attends over the whole image.
    public var windowSize: Int?
    public var fullAttentionLayers: Set<Int>
    /// Width of the merger's output (the text hidden size).
    public var outputSize: Int

    public init(hiddenSize: Int, headCount: Int, intermediateSize: Int, layerCount: Int, channelCount: Int = 3, patchSize: Int,
                temporalPatchSize: Int, mergeSize: Int, norm: Norm, normEps: Float = 1e-6, mlp: MLP, ropeTheta: Double = 10000,
                windowSize: Int? = nil, fullAttentionLayers: Set<Int> = [], outputSize: Int) {
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.channelCount = channelCount
        self.patchSize = patchSize
        self.temporalPatchSize = temporalPatchSize
        self.mergeSize = mergeSize
        self.norm = norm
        self.normEps = normEps
        self.mlp = mlp
        self.ropeTheta = ropeTheta
        self.windowSize = windowSize
        self.fullAttentionLayers = fullAttentionLayers
        self.outputSize = outputSize
    }

    public var headDim: Int { hiddenSize / headCount }
    /// Values per flattened patch: `channels · temporal · patch²`.
    public var patchLength: Int { channelCount * temporalPatchSize * patchSize * patchSize }
    /// Width of a merge group's concatenated features.
    public var mergedWidth: Int { hiddenSize * mergeSize * mergeSize }
}

/// The image grid in patches: `t` temporal patches of `h × w` patches.
public struct PatchGrid: Sendable, Equatable {
    public var t: Int
    public var h: Int
    public var w: Int

    public init(t: Int, h: Int, w: Int) {
        self.t = t
        self.h = h
        self.w = w
    }

    public var patchCount: Int { t * h * w }
}

public struct RotaryViTLayerWeights: Sendable {
    public var norm1: NormWeights
    /// Fused q, k, v rows (3·hidden × hidden) with bias.
    public var qkv: LinearWeights
    public var projection: LinearWeights
    public var norm2: NormWeights
    /// `fc1` (plain) or `up_proj` (gated).
    public var up: LinearWeights
    /// `gate_proj` (gated MLPs only).
    public var gate: LinearWeights?
    /// `fc2` (plain) or `down_proj` (gated).
    public var down: LinearWeights

    public init(norm1: NormWeights, qkv: LinearWeights, projection: LinearWeights, norm2: NormWeights, up: LinearWeights,
                gate: LinearWeights?, down: LinearWeights) {
        self.norm1 = norm1
        self.qkv = qkv
        self.projection = projection
        self.norm2 = norm2
        self.up = up
        self.gate = gate
        self.down = down
    }
}

public struct RotaryViTWeights: Sendable {
    /// The Conv3d kernel as a matrix: hidden × patchLength.
    public var patchEmbedding: WeightMatrix
    public var layers: [RotaryViTLayerWeights]
    /// The merger: `ln_q`, then Linear (mergedWidth → mergedWidth), GELU, Linear (→ output).
    public var mergerNorm: NormWeights
    public var mergerLinear1: LinearWeights
    public var mergerLinear2: LinearWeights

    public init(patchEmbedding: WeightMatrix, layers: [RotaryViTLayerWeights], mergerNorm: NormWeights, mergerLinear1: LinearWeights,
                mergerLinear2: LinearWeights) {
        self.patchEmbedding = patchEmbedding
        self.layers = layers
        self.mergerNorm = mergerNorm
        self.mergerLinear1 = mergerLinear1
        self.mergerLinear2 = mergerLinear2
    }
}

struct RotaryVisionTransformer {
    let spec: RotaryViTSpec
    let weights: RotaryViTWeights
    let pool: ThreadPool

    /// The merged features, `(grid.patchCount / merge²) × outputSize`, in the processor's merge
    /// group order, for `pixels` (`grid.patchCount × patchLength`).
    func features(pixels: UnsafePointer<Float>, grid: PatchGrid) -> [Float] {
        let hidden = spec.hiddenSize, count = grid.patchCount, unit = spec.mergeSize * spec.mergeSize
        var x = Linear.apply(LinearWeights(weight: weights.patchEmbedding), to: pixels, rows: count, pool: pool)
        // Window attention permutes merge groups into windows (and the positions with them).
        let order = windowOrder(grid)
        let positions = patchPositions(grid)
        var rows = positions.rows, columns = positions.columns
        if let order {
            x = Self.permuteGroups(x, order: order, unit: unit, width: hidden)
            rows = Self.permuteGroups(rows.map { Float($0) }, order: order, unit: unit, width: 1).map { Int($0) }
            columns = Self.permuteGroups(columns.map { Float($0) }, order: order, unit: unit, width: 1).map { Int($0) }
        }
        let quarter = spec.headDim / 4
        let theta = Float(spec.ropeTheta), spatial = Float(spec.headDim / 2)
        let inverse: [Float] = (0..<quarter).map { i in 1 / powf(theta, Float(2 * i) / spatial) }
        let rope = RopeTable(inverseFrequencies: inverse + inverse, attentionScaling: 1, positionRows: [rows, columns], sections: [quarter, quarter])
        let whole = [0..<count]
        let windows = order.map { _ in windowSegments(grid) } ?? whole
        var scratch = [Float](repeating: 0, count: count * hidden)
        for (index, layer) in weights.layers.enumerated() {
            let segments = spec.windowSize == nil || spec.fullAttentionLayers.contains(index) ? whole : windows
            x.withUnsafeMutableBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    block(layer, x: x.baseAddress!, scratch: scratch.baseAddress!, count: count, rope: rope, segments: segments)
                }
            }
        }
        var merged = merge(x, count: count)
        if let order {
            // Back from window order: group k of the output is the group the window order put at `order[k]`.
            let width = spec.outputSize
            var restored = [Float](repeating: 0, count: merged.count)
            for (position, group) in order.enumerated() {
                for i in 0..<width { restored[group * width + i] = merged[position * width + i] }
            }
            merged = restored
        }
        return merged
    }

    /// Row and column of every patch in the processor's order `(t, h/m, w/m, m, m)`.
    func patchPositions(_ grid: PatchGrid) -> (rows: [Int], columns: [Int]) {
        let m = spec.mergeSize
        var rows: [Int] = [], columns: [Int] = []
        rows.reserveCapacity(grid.patchCount)
        columns.reserveCapacity(grid.patchCount)
        for _ in 0..<grid.t {
            for blockRow in 0..<(grid.h / m) {
                for blockColumn in 0..<(grid.w / m) {
                    for r in 0..<m {
                        for c in 0..<m {
                            rows.append(blockRow * m + r)
                            columns.append(blockColumn * m + c)
                        }
                    }
                }
            }
        }
        return (rows, columns)
    }

    /// The merge groups in window order (transformers' `get_vision_window_index`): windows of
    /// `windowSize / merge / patch` groups a side, row-major, each read row-major; nil without windows.
    func windowOrder(_ grid: PatchGrid) -> [Int]? {
        guard spec.windowSize != nil else { return nil }
        let side = windowSide, gh = grid.h / spec.mergeSize, gw = grid.w / spec.mergeSize
        var order: [Int] = []
        for t in 0..<grid.t {
            for windowRow in stride(from: 0, to: gh, by: side) {
                for windowColumn in stride(from: 0, to: gw, by: side) {
                    for r in windowRow..<min(windowRow + side, gh) {
                        for c in windowColumn..<min(windowColumn + side, gw) { order.append((t * gh + r) * gw + c) }
                    }
                }
            }
        }
        return order
    }

    /// The patch ranges of each window, in window order.
    func windowSegments(_ grid: PatchGrid) -> [Range<Int>] {
        let side = windowSide, gh = grid.h / spec.mergeSize, gw = grid.w / spec.mergeSize
        let unit = spec.mergeSize * spec.mergeSize
        var segments: [Range<Int>] = [], start = 0
        for _ in 0..<grid.t {
            for windowRow in stride(from: 0, to: gh, by: side) {
                for windowColumn in stride(from: 0, to: gw, by: side) {
                    let size = (min(windowRow + side, gh) - windowRow) * (min(windowColumn + side, gw) - windowColumn) * unit
                    segments.append(start..<(start + size))
                    start += size
                }
            }
        }
        return segments
    }

    private var windowSide: Int { max(1, (spec.windowSize ?? 0) / spec.mergeSize / spec.patchSize) }

    static func permuteGroups(_ values: [Float], order: [Int], unit: Int, width: Int) -> [Float] {
        var result = [Float](repeating: 0, count: values.count)
        let stride = unit * width
        for (position, group) in order.enumerated() {
            for i in 0..<stride { result[position * stride + i] = values[group * stride + i] }
        }
        return result
    }

    private func normalize(_ x: UnsafePointer<Float>, rows: Int, _ weights: NormWeights, into y: UnsafeMutablePointer<Float>) {
        switch spec.norm {
        case .layerNorm: VectorMath.layerNorm(x, rows: rows, width: spec.hiddenSize, weights: weights, eps: spec.normEps, into: y)
        case .rmsNorm: VectorMath.rmsNorm(x, rows: rows, width: spec.hiddenSize, weight: weights.weight, eps: spec.normEps, into: y)
        }
    }

    /// One pre-norm block in place on `x`; attention runs within each of `segments`.
    private func block(_ layer: RotaryViTLayerWeights, x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>, count: Int,
                       rope: RopeTable, segments: [Range<Int>]) {
        let hidden = spec.hiddenSize, heads = spec.headCount, headDim = spec.headDim
        normalize(x, rows: count, layer.norm1, into: scratch)
        let qkv = Linear.apply(layer.qkv, to: scratch, rows: count, pool: pool)
        var q = [Float](repeating: 0, count: count * hidden), k = q, v = q
        for row in 0..<count {
            for i in 0..<hidden {
                q[row * hidden + i] = qkv[row * 3 * hidden + i]
                k[row * hidden + i] = qkv[row * 3 * hidden + hidden + i]
                v[row * hidden + i] = qkv[row * 3 * hidden + 2 * hidden + i]
            }
        }
        q.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: heads, headDim: headDim, rowStride: hidden) }
        k.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: heads, headDim: headDim, rowStride: hidden) }
        var attended = [Float](repeating: 0, count: count * hidden)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    attended.withUnsafeMutableBufferPointer { out in
                        for segment in segments where !segment.isEmpty {
                            let offset = segment.lowerBound * hidden
                            MultiHeadAttention.compute(
                                queries: q.baseAddress! + offset, keys: k.baseAddress! + offset, values: v.baseAddress! + offset,
                                shape: .init(queryCount: segment.count, keyCount: segment.count, headCount: heads, kvHeadCount: heads, headDim: headDim),
                                scale: 1 / Float(headDim).squareRoot(), causalStart: nil, hook: nil, context: nil,
                                output: out.baseAddress! + offset, pool: pool)
                        }
                    }
                }
            }
        }
        let projected = attended.withUnsafeBufferPointer { Linear.apply(layer.projection, to: $0.baseAddress!, rows: count, pool: pool) }
        projected.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }
        normalize(x, rows: count, layer.norm2, into: scratch)
        var up = Linear.apply(layer.up, to: scratch, rows: count, pool: pool)
        switch spec.mlp {
        case .plain(let activation):
            up.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, activation) }
        case .gated(let activation):
            if let gateWeights = layer.gate {
                var gate = Linear.apply(gateWeights, to: scratch, rows: count, pool: pool)
                gate.withUnsafeMutableBufferPointer { gate in
                    VectorMath.activate(gate.baseAddress!, count: gate.count, activation)
                    for i in 0..<gate.count { up[i] *= gate[i] }
                }
            }
        }
        let down = up.withUnsafeBufferPointer { Linear.apply(layer.down, to: $0.baseAddress!, rows: count, pool: pool) }
        down.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }
    }

    /// The merger: `ln_q` per patch, each merge group's rows concatenated, Linear–GELU–Linear.
    private func merge(_ x: [Float], count: Int) -> [Float] {
        var normed = [Float](repeating: 0, count: x.count)
        x.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in normalize(x.baseAddress!, rows: count, weights.mergerNorm, into: y.baseAddress!) }
        }
        let groups = count / (spec.mergeSize * spec.mergeSize)
        var middle = normed.withUnsafeBufferPointer { Linear.apply(weights.mergerLinear1, to: $0.baseAddress!, rows: groups, pool: pool) }
        middle.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, .gelu) }
        return middle.withUnsafeBufferPointer { Linear.apply(weights.mergerLinear2, to: $0.baseAddress!, rows: groups, pool: pool) }
    }
}
