import EAHCheckpoint
import EAHCore

/// A loaded Qwen2-VL / Qwen2.5-VL model ready to run: image features at the image's own
/// resolution, prefill with M-RoPE positions, and decoding with a KV cache.
public final class Qwen2VLModel: @unchecked Sendable {
    public let weights: Qwen2VLWeights
    public let pool: ThreadPool
    /// Where the tokenizer, preprocessor and bundle companions come from.
    public let companions: ModelCompanions
    private let vision: RotaryVisionTransformer
    let decoder: TransformerDecoder

    /// `companions` default to the files beside a transformers folder's weights.
    public init(weights: Qwen2VLWeights, companions: ModelCompanions? = nil, pool: ThreadPool = .shared) {
        self.weights = weights
        self.pool = pool
        let folder = ModelFiles.folder(of: weights.source.path)
        self.companions = companions ?? ModelCompanions(
            family: Qwen2VL.familyName(weights.config.variant), architecture: weights.config.variant.rawValue, tokenizer: .folder(folder),
            preprocessor: .folder(folder), imageMode: "", imageIsToken: true, isGGUF: false, bundled: [])
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
        try generate(prompt.input, images: try Self.images(prompt, pixelValues), maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
                     hook: hook, collectLogits: collectLogits, onToken: onToken)
    }

    /// Runs the prompt through decoder layers `0...lastLayer` only, for `hook` to observe (calibration).
    public func observePrefill(prompt: Qwen2VLPrompt, pixelValues: [[Float]], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        try observePrefill(prompt.input, images: try Self.images(prompt, pixelValues), hook: hook, throughLayer: lastLayer)
    }

    private static func images(_ prompt: Qwen2VLPrompt, _ pixelValues: [[Float]]) throws(ModelProblem) -> [PreparedImage] {
        guard pixelValues.count == prompt.grids.count else {
            throw .badInput("the prompt has \(prompt.grids.count) images but \(pixelValues.count) pixel-value sets were given")
        }
        return zip(pixelValues, prompt.grids).map { PreparedImage(pixelValues: $0, size: nil, grid: $1) }
    }

    /// Token embeddings, with each image's features at its run of positions (`images[i]` fills
    /// the input's run `i`).
    func inputEmbeddings(_ input: ModelInput, images: ArraySlice<PreparedImage>) throws(ModelProblem) -> [Float] {
        try InputEmbeddings.merge(input, images: images, hidden: config.text.hiddenSize, features: { index, image throws(ModelProblem) in
            guard let grid = image.grid else { throw .badInput("image \(index) has no patch grid") }
            return try imageFeatures(pixelValues: image.pixelValues, grid: grid)
        }, embed: embed)
    }

    func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        // Ids are validated by Qwen2VLPrompt and come from the sampler, so the row exists.
        try? weights.text.embedTokens.dequantizeRow(token, into: destination)
    }
}
