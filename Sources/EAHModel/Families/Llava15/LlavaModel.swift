import EAHCheckpoint
import EAHCore

/// A loaded LLaVA model ready to run: image features, prefill and decoding with a KV cache.
///
/// Activations are F32; weights stay in their stored types. Every matrix product runs on
/// `pool`. An `AttentionHook` reads decoder attention (column sums) and may broadcast one head's map.
public final class LlavaModel: @unchecked Sendable {
    public let weights: LlavaWeights
    public let pool: ThreadPool
    private let vision: VisionTower
    let decoder: TransformerDecoder

    public init(weights: LlavaWeights, pool: ThreadPool = .shared) {
        self.weights = weights
        self.pool = pool
        vision = VisionTower(config: weights.config.vision.spec, weights: weights.vision, pool: pool)
        decoder = TransformerDecoder(spec: weights.config.text.spec, weights: weights.text, pool: pool)
    }

    public var config: LlavaConfig { weights.config }

    /// The projected image features in layout order, `positions × text hidden`.
    ///
    /// LLaVA-1.5: pixel values `[3, S, S]` give `imageFeatureCount` features. LLaVA-NeXT (with the
    /// picture's `imageSize`): pixel values `[tiles, 3, S, S]` (base image first, then the tiles
    /// row-major) give the base tile's features, then each kept row of the tile grid (OneVision:
    /// shrunk bilinearly under `anyres_max_N`) followed by `image_newline`, as transformers'
    /// `pack_image_features` does. A GGUF source (llama.cpp's packing): pixel values of the slices
    /// row-major then the overview give each tile's features whole, in that order.
    public func imageFeatures(pixelValues: [Float], imageSize: ImageSize? = nil) throws(ModelProblem) -> [Float] {
        let vision = config.vision
        let tileFloats = vision.channelCount * vision.imageSize * vision.imageSize
        guard let size = imageSize, let layout = config.anyresLayout(for: size) else {
            guard pixelValues.count == tileFloats else {
                throw .badPixelValues("pixel values hold \(pixelValues.count) floats; the vision tower needs [1, \(vision.channelCount), \(vision.imageSize), \(vision.imageSize)]")
            }
            return try tileFeatures(pixelValues[...])
        }
        guard pixelValues.count == layout.tileCount * tileFloats else {
            throw .badPixelValues("pixel values hold \(pixelValues.count) floats; a \(size.width)×\(size.height) image needs [\(layout.tileCount), \(vision.channelCount), \(vision.imageSize), \(vision.imageSize)]")
        }
        let hidden = config.text.hiddenSize, perTile = config.imageFeatureCount
        if layout.packing == .llamaCppSlices {
            guard perTile == layout.grid * layout.grid else {
                throw .badConfig(field: "clip.vision.image_size", reason: "gives \(perTile) features per tile; llama.cpp's slices need \(layout.grid)²")
            }
            var packed: [Float] = []
            packed.reserveCapacity(layout.kinds.count * hidden)
            for tile in 0..<layout.tileCount { packed += try tileFeatures(pixelValues[(tile * tileFloats)..<((tile + 1) * tileFloats)]) }
            return packed
        }
        guard perTile == layout.grid * layout.grid, let newline = weights.projector.imageNewline else {
            throw .badConfig(field: "vision_feature_select_strategy", reason: "gives \(perTile) features per tile; anyres packing needs \(layout.grid)² and an image_newline")
        }
        var tiles: [[Float]] = []
        for tile in 0..<layout.tileCount { tiles.append(try tileFeatures(pixelValues[(tile * tileFloats)..<((tile + 1) * tileFloats)])) }
        var grid: [Float] = []
        grid.reserveCapacity(layout.featureRows * layout.featureColumns * hidden)
        for entry in layout.tileFeatureOrder {
            grid += tiles[entry.tile][(entry.feature * hidden)..<((entry.feature + 1) * hidden)]
        }
        if layout.isShrunk {
            grid = FeatureGridResize.bilinear(grid, rows: layout.featureRows, columns: layout.featureColumns, width: hidden,
                                              toRows: layout.packedRows, columns: layout.packedColumns)
        }
        var packed = tiles[0]
        packed.reserveCapacity(layout.kinds.count * hidden)
        let rowLength = layout.packedColumns * hidden
        for row in 0..<layout.packedRows {
            packed += grid[(row * rowLength)..<((row + 1) * rowLength)]
            packed += newline
        }
        return packed
    }

    /// One tile's projected features, `imageFeatureCount × text hidden`.
    private func tileFeatures(_ pixelValues: ArraySlice<Float>) throws(ModelProblem) -> [Float] {
        let vision = config.vision
        let hiddenCount = vision.layerCount + 1
        var indices: [Int] = []
        for layer in config.visionFeatureLayers {
            let index = layer < 0 ? hiddenCount + layer : layer
            guard index >= 0, index <= weights.vision.layers.count else {
                throw .badConfig(field: "vision_feature_layer", reason: "selects hidden state \(layer), but the tower has \(weights.vision.layers.count) loaded layers")
            }
            indices.append(index)
        }
        let states = pixelValues.withUnsafeBufferPointer { self.vision.hiddenStates(pixels: $0.baseAddress!, indices: indices) }
        let width = vision.hiddenSize, skip = config.featureSelect == .default ? 1 : 0
        let rows = vision.positionCount - skip, concatenated = width * indices.count
        var selected = [Float](repeating: 0, count: rows * concatenated)
        for (slot, index) in indices.enumerated() {
            let state = states[index]!
            for row in 0..<rows {
                for i in 0..<width { selected[row * concatenated + slot * width + i] = state[(row + skip) * width + i] }
            }
        }
        var middle = selected.withUnsafeBufferPointer { Linear.apply(weights.projector.linear1, to: $0.baseAddress!, rows: rows, pool: pool) }
        middle.withUnsafeMutableBufferPointer { VectorMath.activate($0.baseAddress!, count: $0.count, config.projectorActivation) }
        return middle.withUnsafeBufferPointer { Linear.apply(weights.projector.linear2, to: $0.baseAddress!, rows: rows, pool: pool) }
    }

    /// Runs the prompt (prefill) and then decodes up to `maxTokens` tokens.
    ///
    /// Stops early after a token in `stopTokens`. `onToken` is called as each token is chosen.
    /// With `collectLogits`, the result holds every computed row of logits.
    public func generate(
        prompt: LlavaPrompt, pixelValues: [Float], maxTokens: Int, sampling: SamplingParameters = .greedy,
        stopTokens: Set<Int> = [], hook: AttentionHook? = nil, collectLogits: Bool = false, onToken: (Int) -> Void = { _ in }
    ) throws(ModelProblem) -> GenerationResult {
        try generate(prompt: prompt, pixelValues: pixelValues, session: GenerationSession(), maxTokens: maxTokens, sampling: sampling,
                     stopTokens: stopTokens, hook: hook, collectLogits: collectLogits) { onToken($0); return true }
    }

    /// Runs the prompt through decoder layers `0...lastLayer` only, for `hook` to observe:
    /// calibration's cost follows the calibrated layers, not the model.
    public func observePrefill(prompt: LlavaPrompt, pixelValues: [Float], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        let text = config.text
        let embeddings = try promptEmbeddings(prompt, pixelValues: pixelValues)
        let layers = min(lastLayer + 1, text.layerCount)
        let cache = KVCache(layerCount: layers, kvWidth: text.kvHeadCount * text.headDim, capacity: prompt.tokens.count)
        _ = decoder.forward(embeddings, count: prompt.tokens.count, positionIDs: prompt.positionIDs, cache: cache, hook: hook,
                            imagePositions: prompt.imagePositions, imageKinds: prompt.image.kinds,
                            layerLimit: layers)
    }

    /// The prompt's input embeddings: token rows, and the image features at the image positions.
    func promptEmbeddings(_ prompt: LlavaPrompt, pixelValues: [Float]) throws(ModelProblem) -> [Float] {
        let hidden = config.text.hiddenSize
        let features = prompt.imagePositions.isEmpty ? [] : try imageFeatures(pixelValues: pixelValues, imageSize: prompt.image.imageSize)
        guard features.count == prompt.imagePositions.count * hidden else {
            throw .badInput("the prompt has \(prompt.imagePositions.count) image positions but the image yields \(features.count / max(hidden, 1)) features")
        }
        var embeddings = [Float](repeating: 0, count: prompt.tokens.count * hidden)
        var featureRow = [Int: Int]()
        for (row, position) in prompt.imagePositions.enumerated() { featureRow[position] = row }
        embeddings.withUnsafeMutableBufferPointer { output in
            for (position, token) in prompt.tokens.enumerated() {
                let destination = UnsafeMutableBufferPointer(rebasing: output[(position * hidden)..<((position + 1) * hidden)])
                if let row = featureRow[position] {
                    for i in 0..<hidden { destination[i] = features[row * hidden + i] }
                } else {
                    embed(token, into: destination)
                }
            }
        }
        return embeddings
    }

    /// Decodes row `token` of the embedding matrix into `destination`.
    func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        // Token ids are validated by LlavaPrompt and come from the sampler, so the row exists;
        // the embedding's type decodes (the loader refuses types without a dequantizer).
        try? weights.text.embedTokens.dequantizeRow(token, into: destination)
        let multiplier = decoder.spec.embeddingMultiplier
        if multiplier != 1 { for i in destination.indices { destination[i] *= multiplier } }
    }
}
