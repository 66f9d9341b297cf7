import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// A loaded Gemma 3 ready to run: SigLIP's `last_hidden_state`, the pooled and projected soft
/// tokens, and the Gemma 3 decoder (`Gemma3Config.text`).
public final class Gemma3Model: @unchecked Sendable {
    public let weights: Gemma3Weights
    public let pool: ThreadPool
    public let companions: ModelCompanions
    private let tower: VisionTower
    let decoder: TransformerDecoder

    public init(weights: Gemma3Weights, companions: ModelCompanions, pool: ThreadPool = .shared) {
        self.weights = weights
        self.pool = pool
        self.companions = companions
        tower = VisionTower(config: weights.config.vision.spec, weights: weights.vision, pool: pool)
        decoder = TransformerDecoder(spec: weights.config.text, weights: weights.text, pool: pool)
    }

    public var config: Gemma3Config { weights.config }

    /// The soft tokens (`tokensPerImage × text hidden`) of one image's pixel values
    /// (`3 × S × S`, channel-major): SigLIP after its post-norm, `k × k` average pool over the
    /// patch grid (row-major), RMSNorm (1 + w, the tower's eps), projection.
    public func imageFeatures(pixelValues: [Float]) throws(ModelProblem) -> [Float] {
        let v = config.vision, side = v.patchesPerSide, width = v.hiddenSize
        let expected = v.channelCount * v.imageSize * v.imageSize
        guard pixelValues.count == expected else {
            throw .badPixelValues("pixel values hold \(pixelValues.count) floats; Gemma 3's tower needs \(v.channelCount)×\(v.imageSize)×\(v.imageSize) = \(expected)")
        }
        guard let states = pixelValues.withUnsafeBufferPointer({ tower.lastHiddenState(pixels: $0.baseAddress!) }) else {
            throw .badInput("the vision tower was loaded without its last layers or post-norm")
        }
        let k = config.poolKernel, tokensSide = config.tokensPerSide
        var pooled = [Float](repeating: 0, count: config.tokensPerImage * width)
        let area = Float(k * k)
        for r in 0..<tokensSide {
            for c in 0..<tokensSide {
                let out = (r * tokensSide + c) * width
                for dr in 0..<k {
                    for dc in 0..<k {
                        let patch = ((r * k + dr) * side + c * k + dc) * width
                        for i in 0..<width { pooled[out + i] += states[patch + i] }
                    }
                }
                for i in 0..<width { pooled[out + i] /= area }
            }
        }
        let offset = weights.projector.softEmbeddingNormOffset
        let norm = weights.projector.softEmbeddingNorm.map { $0 + offset }
        pooled.withUnsafeMutableBufferPointer {
            VectorMath.rmsNorm($0.baseAddress!, rows: config.tokensPerImage, width: width, weight: norm, eps: v.layerNormEps, into: $0.baseAddress!)
        }
        return pooled.withUnsafeBufferPointer {
            Linear.apply(LinearWeights(weight: weights.projector.projection), to: $0.baseAddress!, rows: config.tokensPerImage, pool: pool)
        }
    }

    /// Token embeddings (×√hidden) with each image's soft tokens at its run (`images[i]` fills run `i`).
    func inputEmbeddings(_ input: ModelInput, images: ArraySlice<PreparedImage>) throws(ModelProblem) -> [Float] {
        try InputEmbeddings.merge(input, images: images, hidden: config.text.hiddenSize,
                                  features: { _, image throws(ModelProblem) in try imageFeatures(pixelValues: image.pixelValues) },
                                  embed: embed)
    }

    /// A text token's embedding, scaled by √hidden (Gemma's scaled word embedding).
    func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        // Ids are validated by `prepare` and come from the sampler, so the row exists.
        try? weights.text.embedTokens.dequantizeRow(token, into: destination)
        let scale = config.text.embeddingMultiplier
        for i in destination.indices { destination[i] *= scale }
    }
}
