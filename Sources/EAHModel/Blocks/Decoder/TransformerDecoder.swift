import EAHCore

/// A pre-norm (or sandwich-norm) decoder stack as `DecoderSpec` describes it: RMSNorm, optional
/// QK-norm, RoPE (global and sliding-window tables), grouped-query attention with a KV cache and
/// the spec's masks, a gated or plain MLP.
struct TransformerDecoder {
    let spec: DecoderSpec
    let weights: LlamaWeights
    let inverseFrequencies: [Float]
    let attentionScaling: Float
    /// The sliding-window layers' RoPE (`spec.rope.slidingParameters`); nil: the global one.
    let slidingRope: (inverseFrequencies: [Float], attentionScaling: Float)?
    let pool: ThreadPool
    /// Norm weights with the spec's offset folded in (`1 + w` for Gemma), per layer.
    private let inputNorms: [[Float]]
    private let postAttentionNorms: [[Float]]
    private let finalNorm: [Float]
    /// QK-norm and sandwich-norm weights, folded likewise (nil where the spec has none).
    private let queryNorms: [[Float]?]
    private let keyNorms: [[Float]?]
    private let attentionOutputNorms: [[Float]?]
    private let mlpOutputNorms: [[Float]?]

    init(spec: DecoderSpec, weights: LlamaWeights, pool: ThreadPool) {
        self.spec = spec
        self.weights = weights
        self.pool = pool
        let rope = RotaryEmbedding.parameters(spec.rope.parameters, headDim: spec.attention.headDim, maxPositionEmbeddings: spec.rope.maxPositionEmbeddings)
        inverseFrequencies = rope.inverseFrequencies
        attentionScaling = rope.attentionScaling
        slidingRope = spec.rope.slidingParameters.map {
            let local = RotaryEmbedding.parameters($0, headDim: spec.attention.headDim, maxPositionEmbeddings: spec.rope.maxPositionEmbeddings)
            return (local.inverseFrequencies, local.attentionScaling)
        }
        let offset = spec.norm.weightOffset
        func folded(_ weight: [Float]) -> [Float] { offset == 0 ? weight : weight.map { $0 + offset } }
        inputNorms = weights.layers.map { folded($0.inputNorm.weight) }
        postAttentionNorms = weights.layers.map { folded($0.postAttentionNorm.weight) }
        finalNorm = folded(weights.norm.weight)
        let qkNorm = spec.attention.queryKeyNorm, sandwich = spec.norm.sandwich
        queryNorms = weights.layers.map { qkNorm ? $0.queryNorm.map { folded($0.weight) } : nil }
        keyNorms = weights.layers.map { qkNorm ? $0.keyNorm.map { folded($0.weight) } : nil }
        attentionOutputNorms = weights.layers.map { sandwich ? $0.attentionOutputNorm.map { folded($0.weight) } : nil }
        mlpOutputNorms = weights.layers.map { sandwich ? $0.mlpOutputNorm.map { folded($0.weight) } : nil }
        precondition(!qkNorm || (queryNorms.allSatisfy { $0 != nil } && keyNorms.allSatisfy { $0 != nil }), "QK-norm needs q_norm and k_norm weights")
        precondition(!sandwich || (attentionOutputNorms.allSatisfy { $0 != nil } && mlpOutputNorms.allSatisfy { $0 != nil }),
                     "sandwich norms need the post-attention and post-feed-forward weights")
    }

    /// Runs `count` new positions (embeddings `count × hidden`, consumed) through every layer,
    /// appending their keys and values to `cache`, and returns the final-normed hidden states.
    ///
    /// `positionIDs` (one per new position) are what RoPE rotates by; the KV-cache index (and
    /// the attention maps' row and column numbers) continue from `cache.count`. `hook` sees each
    /// layer's probabilities; phase is `phase` when given (a later turn's prompt is a prefill
    /// too), else prefill when the cache was empty and decode otherwise. With `layerLimit`, only
    /// layers `0..<layerLimit` run (calibration) and the result is that layer's raw output; the
    /// cache is then left unusable for decoding. With multi-section RoPE (`spec.rope.sections`),
    /// `sectionPositionIDs` gives one row of ids per position axis (M-RoPE: time, height, width;
    /// each row `count` long); without it every row is `positionIDs`. `imageBlocks` (KV-index
    /// ranges of whole image runs) are attended both ways during a prefill when
    /// `spec.bidirectionalImages`.
    func forward(_ embeddings: [Float], count: Int, positionIDs: [Int], sectionPositionIDs: [[Int]]? = nil, cache: KVCache, hook: AttentionHook?,
                 imagePositions: [Int], imageKinds: [ImagePositionKind] = [], imageBlocks: [Range<Int>] = [], layerLimit: Int? = nil,
                 phase: AttentionPhase? = nil) -> [Float] {
        precondition(positionIDs.count == count, "one position id per new position")
        let hidden = spec.hiddenSize, start = cache.count, eps = spec.norm.eps
        let heads = spec.attention.headCount, kvHeads = spec.attention.kvHeadCount, headDim = spec.attention.headDim
        let phase: AttentionPhase = phase ?? (start == 0 ? .prefill : .decode)
        func table(_ inverseFrequencies: [Float], _ attentionScaling: Float) -> RopeTable {
            if let sections = spec.rope.sections {
                RopeTable(inverseFrequencies: inverseFrequencies, attentionScaling: attentionScaling,
                          positionRows: sectionPositionIDs ?? [positionIDs], sections: sections, style: spec.rope.style)
            } else {
                RopeTable(inverseFrequencies: inverseFrequencies, attentionScaling: attentionScaling, positions: positionIDs, style: spec.rope.style)
            }
        }
        let globalRope = table(inverseFrequencies, attentionScaling)
        let localRope = slidingRope.map { table($0.inverseFrequencies, $0.attentionScaling) }
        let blocks = spec.bidirectionalImages && phase == .prefill ? imageBlocks : []
        cache.reserve(count)
        var x = embeddings
        var normed = [Float](repeating: 0, count: count * hidden)
        for (index, layer) in weights.layers.prefix(layerLimit ?? weights.layers.count).enumerated() {
            x.withUnsafeMutableBufferPointer { x in
                normed.withUnsafeMutableBufferPointer { scratch in
                    let x = x.baseAddress!, scratch = scratch.baseAddress!
                    VectorMath.rmsNorm(x, rows: count, width: hidden, weight: inputNorms[index], eps: eps, into: scratch, pool: pool)
                    var q = Linear.apply(layer.query, to: scratch, rows: count, pool: pool)
                    var k = Linear.apply(layer.key, to: scratch, rows: count, pool: pool)
                    let v = Linear.apply(layer.value, to: scratch, rows: count, pool: pool)
                    if let queryNorm = queryNorms[index], let keyNorm = keyNorms[index] {
                        q.withUnsafeMutableBufferPointer { VectorMath.rmsNorm($0.baseAddress!, rows: count * heads, width: headDim, weight: queryNorm, eps: eps, into: $0.baseAddress!, pool: pool) }
                        k.withUnsafeMutableBufferPointer { VectorMath.rmsNorm($0.baseAddress!, rows: count * kvHeads, width: headDim, weight: keyNorm, eps: eps, into: $0.baseAddress!, pool: pool) }
                    }
                    let rope = spec.isSliding(index) ? localRope ?? globalRope : globalRope
                    q.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: heads, headDim: headDim, rowStride: heads * headDim) }
                    k.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: kvHeads, headDim: headDim, rowStride: kvHeads * headDim) }
                    let kvWidth = kvHeads * headDim
                    let keys = cache.keys(index), values = cache.values(index)
                    k.withUnsafeBufferPointer { (keys + start * kvWidth).update(from: $0.baseAddress!, count: count * kvWidth) }
                    v.withUnsafeBufferPointer { (values + start * kvWidth).update(from: $0.baseAddress!, count: count * kvWidth) }
                    var attended = [Float](repeating: 0, count: count * heads * headDim)
                    let context = AttentionContext(layer: index, phase: phase, queryStart: start, imagePositions: imagePositions,
                                                   queriesPerKVHead: heads / kvHeads, imageKinds: imageKinds)
                    let window: Int? = if case .slidingWindow(let size) = spec.masks[index] { size } else { nil }
                    q.withUnsafeBufferPointer { q in
                        attended.withUnsafeMutableBufferPointer { out in
                            MultiHeadAttention.compute(
                                queries: q.baseAddress!, keys: keys, values: values,
                                shape: .init(queryCount: count, keyCount: start + count, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                                scale: spec.attention.scale, causalStart: start, window: window,
                                bidirectional: blocks, hook: hook, context: context, output: out.baseAddress!, pool: pool)
                        }
                    }
                    var projected = attended.withUnsafeBufferPointer { Linear.apply(layer.output, to: $0.baseAddress!, rows: count, pool: pool) }
                    if let norm = attentionOutputNorms[index] { normInPlace(&projected, rows: count, width: hidden, weight: norm, eps: eps) }
                    projected.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }

                    VectorMath.rmsNorm(x, rows: count, width: hidden, weight: postAttentionNorms[index], eps: eps, into: scratch, pool: pool)
                    var up = Linear.apply(layer.up, to: scratch, rows: count, pool: pool)
                    if spec.mlp.gated {
                        var gate = Linear.apply(layer.gate, to: scratch, rows: count, pool: pool)
                        gate.withUnsafeMutableBufferPointer { gate in
                            VectorMath.activate(gate.baseAddress!, count: gate.count, spec.mlp.activation, pool: pool)
                            for i in 0..<gate.count { up[i] *= gate[i] }
                        }
                    } else {
                        up.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, spec.mlp.activation, pool: pool) }
                    }
                    var down = up.withUnsafeBufferPointer { Linear.apply(layer.down, to: $0.baseAddress!, rows: count, pool: pool) }
                    if let norm = mlpOutputNorms[index] { normInPlace(&down, rows: count, width: hidden, weight: norm, eps: eps) }
                    down.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }
                }
            }
        }
        cache.advance(by: count)
        if layerLimit != nil { return x }
        x.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in
                VectorMath.rmsNorm(x.baseAddress!, rows: count, width: hidden, weight: finalNorm, eps: eps, into: y.baseAddress!, pool: pool)
            }
        }
        return normed
    }

    /// `rows × vocab` logits of final-normed hidden states.
    func logits(_ hidden: UnsafePointer<Float>, rows: Int) -> [Float] {
        Linear.apply(LinearWeights(weight: weights.lmHead), to: hidden, rows: rows, pool: pool)
    }

    private func normInPlace(_ x: inout [Float], rows: Int, width: Int, weight: [Float], eps: Float) {
        x.withUnsafeMutableBufferPointer { VectorMath.rmsNorm($0.baseAddress!, rows: rows, width: width, weight: weight, eps: eps, into: $0.baseAddress!, pool: pool) }
    }
}
