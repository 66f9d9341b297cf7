import EAHCore

/// The LLaMA decoder stack: RMSNorm, RoPE, grouped-query attention with a KV cache, SwiGLU.
struct LlamaDecoder {
    let config: LlamaConfig
    let weights: LlamaWeights
    let inverseFrequencies: [Float]
    let attentionScaling: Float
    let pool: ThreadPool

    /// Runs `count` new positions (embeddings `count × hidden`, consumed) through every layer,
    /// appending their keys and values to `cache`, and returns the final-normed hidden states.
    ///
    /// Positions continue from `cache.count`. `hook` sees each layer's probabilities; phase is
    /// `phase` when given (a later turn's prompt is a prefill too), else prefill when the cache
    /// was empty and decode otherwise. With `layerLimit`, only layers
    /// `0..<layerLimit` run (calibration) and the result is that layer's raw output; the cache
    /// is then left unusable for decoding.
    func forward(_ embeddings: [Float], count: Int, cache: KVCache, hook: AttentionHook?, imagePositions: [Int], layerLimit: Int? = nil,
                 phase: AttentionPhase? = nil) -> [Float] {
        let hidden = config.hiddenSize, start = cache.count
        let heads = config.headCount, kvHeads = config.kvHeadCount, headDim = config.headDim
        let phase: AttentionPhase = phase ?? (start == 0 ? .prefill : .decode)
        let rope = RopeTable(inverseFrequencies: inverseFrequencies, attentionScaling: attentionScaling, positions: start..<(start + count))
        cache.reserve(count)
        var x = embeddings
        var normed = [Float](repeating: 0, count: count * hidden)
        for (index, layer) in weights.layers.prefix(layerLimit ?? weights.layers.count).enumerated() {
            x.withUnsafeMutableBufferPointer { x in
                normed.withUnsafeMutableBufferPointer { scratch in
                    let x = x.baseAddress!, scratch = scratch.baseAddress!
                    VectorMath.rmsNorm(x, rows: count, width: hidden, weight: layer.inputNorm.weight, eps: config.rmsNormEps, into: scratch)
                    var q = Linear.apply(layer.query, to: scratch, rows: count, pool: pool)
                    var k = Linear.apply(layer.key, to: scratch, rows: count, pool: pool)
                    let v = Linear.apply(layer.value, to: scratch, rows: count, pool: pool)
                    q.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: heads, rowStride: heads * headDim) }
                    k.withUnsafeMutableBufferPointer { rope.apply($0.baseAddress!, rows: count, heads: kvHeads, rowStride: kvHeads * headDim) }
                    let kvWidth = kvHeads * headDim
                    let keys = cache.keys(index), values = cache.values(index)
                    k.withUnsafeBufferPointer { (keys + start * kvWidth).update(from: $0.baseAddress!, count: count * kvWidth) }
                    v.withUnsafeBufferPointer { (values + start * kvWidth).update(from: $0.baseAddress!, count: count * kvWidth) }
                    var attended = [Float](repeating: 0, count: count * heads * headDim)
                    let context = AttentionContext(layer: index, phase: phase, queryStart: start, imagePositions: imagePositions,
                                                   queriesPerKVHead: heads / kvHeads)
                    q.withUnsafeBufferPointer { q in
                        attended.withUnsafeMutableBufferPointer { out in
                            MultiHeadAttention.compute(
                                queries: q.baseAddress!, keys: keys, values: values,
                                shape: .init(queryCount: count, keyCount: start + count, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                                scale: 1 / Float(headDim).squareRoot(), causalStart: start, hook: hook, context: context,
                                output: out.baseAddress!, pool: pool)
                        }
                    }
                    let projected = attended.withUnsafeBufferPointer { Linear.apply(layer.output, to: $0.baseAddress!, rows: count, pool: pool) }
                    projected.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }

                    VectorMath.rmsNorm(x, rows: count, width: hidden, weight: layer.postAttentionNorm.weight, eps: config.rmsNormEps, into: scratch)
                    var gate = Linear.apply(layer.gate, to: scratch, rows: count, pool: pool)
                    let up = Linear.apply(layer.up, to: scratch, rows: count, pool: pool)
                    gate.withUnsafeMutableBufferPointer { gate in
                        VectorMath.activate(gate.baseAddress!, count: gate.count, .silu)
                        for i in 0..<gate.count { gate[i] *= up[i] }
                    }
                    let down = gate.withUnsafeBufferPointer { Linear.apply(layer.down, to: $0.baseAddress!, rows: count, pool: pool) }
                    down.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: count * hidden) }
                }
            }
        }
        cache.advance(by: count)
        if layerLimit != nil { return x }
        x.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in
                VectorMath.rmsNorm(x.baseAddress!, rows: count, width: hidden, weight: weights.norm.weight, eps: config.rmsNormEps, into: y.baseAddress!)
            }
        }
        return normed
    }

    /// `rows × vocab` logits of final-normed hidden states.
    func logits(_ hidden: UnsafePointer<Float>, rows: Int) -> [Float] {
        Linear.apply(LinearWeights(weight: weights.lmHead), to: hidden, rows: rows, pool: pool)
    }
}
