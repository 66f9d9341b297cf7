import EAHCheckpoint
import EAHCore

/// A loaded Qwen2-VL / Qwen2.5-VL model ready to run: image features at the image's own
/// resolution, prefill with M-RoPE positions, and decoding with a KV cache.
public final class Qwen2VLModel: @unchecked Sendable {
    public let weights: Qwen2VLWeights
    public let pool: ThreadPool
    private let vision: RotaryVisionTransformer
    private let decoder: TransformerDecoder

    public init(weights: Qwen2VLWeights, pool: ThreadPool = .shared) {
        self.weights = weights
        self.pool = pool
        vision = RotaryVisionTransformer(spec: weights.config.vision, weights: weights.vision, pool: pool)
        decoder = TransformerDecoder(spec: weights.config.text, weights: weights.text, pool: pool)
    }

    public var config: Qwen2VLConfig { weights.config }

    /// The merged image features (`t·(h/m)·(w/m) × text hidden`) of one image's patches
    /// (`grid.patchCount × patchLength`, as `Qwen2VLImageProcessor` flattens them).
    public func imageFeatures(pixelValues: [Float], grid: PatchGrid) throws(ModelProblem) -> [Float] {
        let spec = config.vision, m = spec.mergeSize
        guard grid.t > 0, grid.h > 0, grid.w > 0, grid.h % m == 0, grid.w % m == 0 else {
            throw .badPixelValues("image grid (\(grid.t), \(grid.h), \(grid.w)) must be positive with h and w multiples of the merge size \(m)")
        }
        let (count, overflow) = grid.patchCount.multipliedReportingOverflow(by: spec.patchLength)
        guard !overflow, pixelValues.count == count else {
            throw .badPixelValues("pixel values hold \(pixelValues.count) floats; grid (\(grid.t), \(grid.h), \(grid.w)) needs \(grid.patchCount) patches of \(spec.patchLength)")
        }
        return pixelValues.withUnsafeBufferPointer { vision.features(pixels: $0.baseAddress!, grid: grid) }
    }

    /// Runs the prompt (prefill) and decodes up to `maxTokens` tokens; `pixelValues[i]` are
    /// image `i`'s patches (grid `prompt.grids[i]`). Stops after a token in `stopTokens`. With
    /// `collectLogits`, the result holds every computed row of logits (prompt rows, then one
    /// per decode step).
    public func generate(
        prompt: Qwen2VLPrompt, pixelValues: [[Float]], maxTokens: Int, sampling: SamplingParameters = .greedy,
        stopTokens: Set<Int> = [], hook: AttentionHook? = nil, collectLogits: Bool = false, onToken: (Int) -> Void = { _ in }
    ) throws(ModelProblem) -> GenerationResult {
        let spec = config.text, hidden = spec.hiddenSize, vocab = spec.vocabSize, n = prompt.tokens.count
        let embeddings = try promptEmbeddings(prompt, pixelValues: pixelValues)
        let cache = KVCache(layerCount: spec.layerCount, kvWidth: spec.attention.kvHeadCount * spec.attention.headDim, capacity: n + maxTokens)
        let promptHidden = decoder.forward(embeddings, count: n, positionIDs: prompt.positionRows[0], sectionPositionIDs: prompt.positionRows,
                                           cache: cache, hook: hook, imagePositions: prompt.imagePositions)
        var collected: [Float] = []
        var last: [Float]
        if collectLogits {
            collected = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: n) }
            last = Array(collected[(collected.count - vocab)...])
        } else {
            last = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress! + (n - 1) * hidden, rows: 1) }
        }
        var sampler = TokenSampler(sampling)
        var tokens: [Int] = []
        while tokens.count < maxTokens {
            let token = last.withUnsafeBufferPointer { sampler.next($0) }
            tokens.append(token)
            onToken(token)
            if stopTokens.contains(token) || tokens.count == maxTokens { break }
            var embedding = [Float](repeating: 0, count: hidden)
            embedding.withUnsafeMutableBufferPointer { embed(token, into: $0) }
            // Decoding continues on all three rows from one past the prompt's largest id.
            let position = prompt.nextPositionID + tokens.count - 1
            let stepHidden = decoder.forward(embedding, count: 1, positionIDs: [position], cache: cache, hook: hook,
                                             imagePositions: prompt.imagePositions)
            last = stepHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: 1) }
            if collectLogits { collected += last }
        }
        return GenerationResult(tokens: tokens, promptLength: n, logits: collectLogits ? collected : nil)
    }

    /// Runs the prompt through decoder layers `0...lastLayer` only, for `hook` to observe (calibration).
    public func observePrefill(prompt: Qwen2VLPrompt, pixelValues: [[Float]], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        let spec = config.text
        let embeddings = try promptEmbeddings(prompt, pixelValues: pixelValues)
        let layers = min(lastLayer + 1, spec.layerCount)
        let cache = KVCache(layerCount: layers, kvWidth: spec.attention.kvHeadCount * spec.attention.headDim, capacity: prompt.tokens.count)
        _ = decoder.forward(embeddings, count: prompt.tokens.count, positionIDs: prompt.positionRows[0], sectionPositionIDs: prompt.positionRows,
                            cache: cache, hook: hook, imagePositions: prompt.imagePositions, layerLimit: layers)
    }

    /// Token embeddings, with each image's features at its run of positions.
    private func promptEmbeddings(_ prompt: Qwen2VLPrompt, pixelValues: [[Float]]) throws(ModelProblem) -> [Float] {
        let hidden = config.text.hiddenSize
        guard pixelValues.count == prompt.grids.count else {
            throw .badInput("the prompt has \(prompt.grids.count) images but \(pixelValues.count) pixel-value sets were given")
        }
        var embeddings = [Float](repeating: 0, count: prompt.tokens.count * hidden)
        var isImage = [Bool](repeating: false, count: prompt.tokens.count)
        for (index, run) in prompt.image.runs.enumerated() {
            let features = try imageFeatures(pixelValues: pixelValues[index], grid: prompt.grids[index])
            guard features.count == run.kinds.count * hidden else {
                throw .badInput("image \(index) has \(run.kinds.count) positions but yields \(features.count / hidden) features")
            }
            for (row, position) in run.positions.enumerated() {
                isImage[position] = true
                for i in 0..<hidden { embeddings[position * hidden + i] = features[row * hidden + i] }
            }
        }
        embeddings.withUnsafeMutableBufferPointer { output in
            for (position, token) in prompt.tokens.enumerated() where !isImage[position] {
                embed(token, into: UnsafeMutableBufferPointer(rebasing: output[(position * hidden)..<((position + 1) * hidden)]))
            }
        }
        return embeddings
    }

    private func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        // Ids are validated by Qwen2VLPrompt and come from the sampler, so the row exists.
        try? weights.text.embedTokens.dequantizeRow(token, into: destination)
    }
}
