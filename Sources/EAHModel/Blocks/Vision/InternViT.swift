import EAHCore

/// InternViT (InternVL's vision tower), as transformers' `InternVLVisionModel` computes it: a
/// bias-carrying patch convolution, a class token and learned positions, then pre-norm blocks
/// with LayerNorm or RMSNorm, separate q/k/v (bias optional), an optional full-width RMS QK-norm
/// and layer scale (λ1 on the attention branch, λ2 on the MLP branch); no final norm
/// (`use_mean_pooling`). Positions are used as stored (tiles at the trained size).
public struct InternViTSpec: Sendable, Equatable {
    public enum Norm: String, Sendable, Equatable {
        case layerNorm = "layer_norm"
        case rmsNorm = "rms_norm"
    }

    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    /// Tiles are `imageSize × imageSize`.
    public var imageSize: Int
    public var patchSize: Int
    public var channelCount: Int
    public var norm: Norm
    /// Epsilon of the block norms (the QK-norm's is transformers' fixed 1e-6).
    public var normEps: Float
    /// q, k and v projections have biases (InternViT-300M); none in the 6B tower.
    public var qkvBias: Bool
    /// RMSNorm over the whole query and key width before the heads split (6B tower).
    public var qkNorm: Bool
    public var activation: Activation

    public var patchesPerSide: Int { imageSize / patchSize }
    /// Every patch plus the class token.
    public var positionCount: Int { patchesPerSide * patchesPerSide + 1 }
    public var headDim: Int { hiddenSize / headCount }
    /// Values per patch as the convolution reads them (channel, y, x).
    public var patchLength: Int { channelCount * patchSize * patchSize }
    /// Values per tile of pixel values (channel-planar).
    public var tileLength: Int { channelCount * imageSize * imageSize }
}

public struct InternViTLayerWeights: Sendable {
    public var norm1: NormWeights
    public var query: LinearWeights
    public var key: LinearWeights
    public var value: LinearWeights
    public var queryNorm: NormWeights?
    public var keyNorm: NormWeights?
    public var output: LinearWeights
    /// Layer scale of the attention branch (λ1) and of the MLP branch (λ2).
    public var lambda1: [Float]
    public var lambda2: [Float]
    public var norm2: NormWeights
    public var fc1: LinearWeights
    public var fc2: LinearWeights
}

public struct InternViTWeights: Sendable {
    /// hidden × (channels · patch²), with its bias.
    public var patchEmbedding: LinearWeights
    public var classToken: [Float]
    /// `positionCount × hidden`, class token first.
    public var positionEmbedding: [Float]
    public var layers: [InternViTLayerWeights]
}

struct InternViT {
    /// transformers' `InternVLVisionRMSNorm` is built with its default epsilon for q/k.
    static let qkNormEps: Float = 1e-6

    let spec: InternViTSpec
    let weights: InternViTWeights
    let pool: ThreadPool

    /// The last layer's output (`positionCount × hidden`, class token first) for one tile
    /// (`tileLength` channel-planar values).
    func lastHiddenState(tile pixels: UnsafePointer<Float>) -> [Float] {
        var states = embeddings(pixels)
        var scratch = [Float](repeating: 0, count: states.count)
        for layer in weights.layers {
            states.withUnsafeMutableBufferPointer { x in
                scratch.withUnsafeMutableBufferPointer { y in block(layer, x: x.baseAddress!, scratch: y.baseAddress!) }
            }
        }
        return states
    }

    private func embeddings(_ pixels: UnsafePointer<Float>) -> [Float] {
        let patch = spec.patchSize, side = spec.patchesPerSide, size = spec.imageSize
        let patchCount = side * side, length = spec.patchLength
        var patches = [Float](repeating: 0, count: patchCount * length)
        for py in 0..<side {
            for px in 0..<side {
                let row = (py * side + px) * length
                for c in 0..<spec.channelCount {
                    for y in 0..<patch {
                        for x in 0..<patch {
                            patches[row + (c * patch + y) * patch + x] = pixels[(c * size + py * patch + y) * size + px * patch + x]
                        }
                    }
                }
            }
        }
        let projected = patches.withUnsafeBufferPointer { Linear.apply(weights.patchEmbedding, to: $0.baseAddress!, rows: patchCount, pool: pool) }
        var embedded = weights.classToken + projected
        for i in 0..<embedded.count { embedded[i] += weights.positionEmbedding[i] }
        return embedded
    }

    private func normalize(_ x: UnsafePointer<Float>, rows: Int, width: Int, _ norm: NormWeights, eps: Float, into y: UnsafeMutablePointer<Float>) {
        switch spec.norm {
        case .layerNorm: VectorMath.layerNorm(x, rows: rows, width: width, weights: norm, eps: eps, into: y)
        case .rmsNorm: VectorMath.rmsNorm(x, rows: rows, width: width, weight: norm.weight, eps: eps, into: y)
        }
    }

    /// The QK-norm: RMSNorm over the whole width of each row.
    private func rmsNormed(_ values: [Float], _ norm: NormWeights, rows: Int) -> [Float] {
        var output = values
        values.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                VectorMath.rmsNorm(x.baseAddress!, rows: rows, width: spec.hiddenSize, weight: norm.weight, eps: Self.qkNormEps, into: y.baseAddress!)
            }
        }
        return output
    }

    /// `x += λ · branch`, per channel.
    private static func addScaled(_ branch: [Float], _ lambda: [Float], into x: UnsafeMutablePointer<Float>, rows: Int) {
        let width = lambda.count
        for r in 0..<rows {
            for i in 0..<width { x[r * width + i] += lambda[i] * branch[r * width + i] }
        }
    }

    /// One block, in place on `x` (`positionCount × hidden`).
    private func block(_ layer: InternViTLayerWeights, x: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let hidden = spec.hiddenSize, positions = spec.positionCount, headDim = spec.headDim
        normalize(x, rows: positions, width: hidden, layer.norm1, eps: spec.normEps, into: scratch)
        var q = Linear.apply(layer.query, to: scratch, rows: positions, pool: pool)
        var k = Linear.apply(layer.key, to: scratch, rows: positions, pool: pool)
        let v = Linear.apply(layer.value, to: scratch, rows: positions, pool: pool)
        if let queryNorm = layer.queryNorm, let keyNorm = layer.keyNorm {
            q = rmsNormed(q, queryNorm, rows: positions)
            k = rmsNormed(k, keyNorm, rows: positions)
        }
        var attended = [Float](repeating: 0, count: positions * hidden)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    attended.withUnsafeMutableBufferPointer { out in
                        MultiHeadAttention.compute(
                            queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                            shape: .init(queryCount: positions, keyCount: positions, headCount: spec.headCount, kvHeadCount: spec.headCount, headDim: headDim),
                            scale: 1 / Float(headDim).squareRoot(), causalStart: nil, hook: nil, context: nil, output: out.baseAddress!, pool: pool)
                    }
                }
            }
        }
        let projected = attended.withUnsafeBufferPointer { Linear.apply(layer.output, to: $0.baseAddress!, rows: positions, pool: pool) }
        Self.addScaled(projected, layer.lambda1, into: x, rows: positions)
        normalize(x, rows: positions, width: hidden, layer.norm2, eps: spec.normEps, into: scratch)
        var intermediate = Linear.apply(layer.fc1, to: scratch, rows: positions, pool: pool)
        intermediate.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, spec.activation) }
        let mlp = intermediate.withUnsafeBufferPointer { Linear.apply(layer.fc2, to: $0.baseAddress!, rows: positions, pool: pool) }
        Self.addScaled(mlp, layer.lambda2, into: x, rows: positions)
    }
}
