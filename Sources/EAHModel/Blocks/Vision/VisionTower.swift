import EAHCore

/// A ViT vision tower as `VisionSpec` describes it: patch embedding, an optional class token,
/// learned positions, an optional pre-norm and pre-LN encoder blocks, as transformers'
/// `CLIPVisionModel` and `SiglipVisionModel` compute them.
struct VisionTower {
    let config: VisionSpec
    let weights: CLIPVisionWeights
    let pool: ThreadPool

    /// `hidden_states[index]` for each requested index (0 is the embeddings, after the pre-norm
    /// when there is one; i is the output of encoder layer i, before any post-norm), each
    /// `positionCount × hidden`. Runs only as many layers as the deepest index needs.
    func hiddenStates(pixels: UnsafePointer<Float>, indices: [Int]) -> [Int: [Float]] {
        let hidden = config.hiddenSize, positions = config.positionCount
        var states = embeddings(pixels: pixels)
        var result: [Int: [Float]] = [:]
        if indices.contains(0) { result[0] = states }
        let deepest = indices.max() ?? 0
        var normed = [Float](repeating: 0, count: positions * hidden)
        for (index, layer) in weights.layers.prefix(deepest).enumerated() {
            states.withUnsafeMutableBufferPointer { x in
                normed.withUnsafeMutableBufferPointer { y in
                    encoderLayer(layer, x: x.baseAddress!, scratch: y.baseAddress!)
                }
            }
            if indices.contains(index + 1) { result[index + 1] = states }
        }
        return result
    }

    /// `last_hidden_state`: the last layer's output after `post_layernorm` (the feature Gemma 3
    /// and SmolVLM read), or nil when the tower was loaded without every layer or the post-norm.
    func lastHiddenState(pixels: UnsafePointer<Float>) -> [Float]? {
        guard weights.layers.count == config.layerCount, let postLayerNorm = weights.postLayerNorm,
              let last = hiddenStates(pixels: pixels, indices: [config.layerCount])[config.layerCount] else { return nil }
        var normed = last
        last.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in
                VectorMath.layerNorm(x.baseAddress!, rows: config.positionCount, width: config.hiddenSize, weights: postLayerNorm,
                                     eps: config.layerNormEps, into: y.baseAddress!)
            }
        }
        return normed
    }

    /// Patch embeddings (with the class token prepended when the tower has one) plus positions,
    /// then the pre-norm when the tower has one.
    private func embeddings(pixels: UnsafePointer<Float>) -> [Float] {
        let hidden = config.hiddenSize, patch = config.patchSize, side = config.patchesPerSide
        let channels = config.channelCount, imageSize = config.imageSize
        let patchCount = side * side, patchLength = channels * patch * patch
        let first = config.classToken ? 1 : 0, positions = patchCount + first
        // Unfold the image into one row per patch, in the convolution weight's (c, y, x) order.
        var patches = [Float](repeating: 0, count: patchCount * patchLength)
        for py in 0..<side {
            for px in 0..<side {
                let row = (py * side + px) * patchLength
                for c in 0..<channels {
                    for y in 0..<patch {
                        for x in 0..<patch {
                            patches[row + (c * patch + y) * patch + x] = pixels[(c * imageSize + py * patch + y) * imageSize + px * patch + x]
                        }
                    }
                }
            }
        }
        let convolution = LinearWeights(weight: weights.patchEmbedding, bias: weights.patchBias)
        let projected = patches.withUnsafeBufferPointer { Linear.apply(convolution, to: $0.baseAddress!, rows: patchCount, pool: pool) }
        var embedded = [Float](repeating: 0, count: first * hidden)
        embedded += projected
        if let classEmbedding = weights.classEmbedding {
            for i in 0..<hidden { embedded[i] = classEmbedding[i] }
        }
        for i in 0..<embedded.count { embedded[i] += weights.positionEmbedding[i] }
        guard let preLayerNorm = weights.preLayerNorm else { return embedded }
        var normed = embedded
        embedded.withUnsafeBufferPointer { x in
            normed.withUnsafeMutableBufferPointer { y in
                VectorMath.layerNorm(x.baseAddress!, rows: positions, width: hidden, weights: preLayerNorm, eps: config.layerNormEps, into: y.baseAddress!)
            }
        }
        return normed
    }

    /// One pre-LN block, in place on `x` (`positionCount × hidden`).
    private func encoderLayer(_ layer: CLIPLayerWeights, x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let hidden = config.hiddenSize, positions = config.positionCount
        let heads = config.headCount, headDim = config.headDim
        VectorMath.layerNorm(x, rows: positions, width: hidden, weights: layer.layerNorm1, eps: config.layerNormEps, into: scratch)
        let q = Linear.apply(layer.query, to: scratch, rows: positions, pool: pool)
        let k = Linear.apply(layer.key, to: scratch, rows: positions, pool: pool)
        let v = Linear.apply(layer.value, to: scratch, rows: positions, pool: pool)
        var attended = [Float](repeating: 0, count: positions * hidden)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    attended.withUnsafeMutableBufferPointer { out in
                        MultiHeadAttention.compute(
                            queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                            shape: .init(queryCount: positions, keyCount: positions, headCount: heads, kvHeadCount: heads, headDim: headDim),
                            scale: 1 / Float(headDim).squareRoot(), causalStart: nil, hook: nil, context: nil,
                            output: out.baseAddress!, pool: pool)
                    }
                }
            }
        }
        let projected = attended.withUnsafeBufferPointer { Linear.apply(layer.output, to: $0.baseAddress!, rows: positions, pool: pool) }
        projected.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: positions * hidden) }
        VectorMath.layerNorm(x, rows: positions, width: hidden, weights: layer.layerNorm2, eps: config.layerNormEps, into: scratch)
        var intermediate = Linear.apply(layer.fc1, to: scratch, rows: positions, pool: pool)
        intermediate.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, config.activation) }
        let mlp = intermediate.withUnsafeBufferPointer { Linear.apply(layer.fc2, to: $0.baseAddress!, rows: positions, pool: pool) }
        mlp.withUnsafeBufferPointer { VectorMath.add($0.baseAddress!, into: x, count: positions * hidden) }
    }
}
