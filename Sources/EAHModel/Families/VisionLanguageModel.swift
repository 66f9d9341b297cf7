import EAHCheckpoint
import EAHFrontEnd

/// What the decoder looks like to EAH, bundles and the runtime: enough to check patches, size
/// caches and contexts, whatever the family.
public struct DecoderShape: Sendable, Equatable {
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabSize: Int
    /// Positions the decoder attends over (`max_position_embeddings`).
    public var contextLength: Int

    public init(layerCount: Int, headCount: Int, kvHeadCount: Int, headDim: Int, vocabSize: Int, contextLength: Int) {
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.contextLength = contextLength
    }

    init(_ spec: DecoderSpec) {
        self.init(layerCount: spec.layerCount, headCount: spec.attention.headCount, kvHeadCount: spec.attention.kvHeadCount,
                  headDim: spec.attention.headDim, vocabSize: spec.vocabSize, contextLength: spec.rope.maxPositionEmbeddings)
    }
}

/// A tensor of the text checkpoint that `--bake` rewrites in a layer: its rows are blocks of
/// `headDim`, one per query head, or one per KV head (`perKVHead`).
public struct BakeTarget: Sendable, Equatable {
    public var name: String
    public var perKVHead: Bool

    public init(name: String, perKVHead: Bool) {
        self.name = name
        self.perKVHead = perKVHead
    }
}

/// An image decoded and preprocessed for one family's vision encoder: its pixel values, the
/// size it had (families whose layout depends on the picture need it), and for encoders that
/// read images at their own resolution the patch grid.
public struct PreparedImage: Sendable, Equatable {
    public var pixelValues: [Float]
    /// The picture's size (nil for pixel values given as such, `eah-run --pixel-values`).
    public var size: ImageSize?
    /// The patch grid (t, h, w) of encoders that read the image at its own resolution (Qwen2-VL).
    public var grid: PatchGrid?

    public init(pixelValues: [Float], size: ImageSize?, grid: PatchGrid? = nil) {
        self.pixelValues = pixelValues
        self.size = size
        self.grid = grid
    }
}

/// A prompt ready to run, whatever the family: token ids, the positions that hold image features
/// (EAH's image columns) with their kinds, and the RoPE position ids, kept apart from the
/// KV-cache index (row `i` of the prompt is cache slot `i`).
public struct ModelInput: Sendable, Equatable {
    /// One id per position; image positions hold a placeholder id that is never embedded.
    public let tokens: [Int]
    public let image: ImageLayout
    /// One row of position ids per RoPE section: one row for plain RoPE, three for M-RoPE (time,
    /// height, width). Each row is `tokens.count` long.
    public let positionRows: [[Int]]

    public init(tokens: [Int], image: ImageLayout, positionRows: [[Int]]? = nil) {
        self.tokens = tokens
        self.image = image
        self.positionRows = positionRows ?? [Array(0..<tokens.count)]
    }

    /// Positions of the image features, ascending: EAH's image columns.
    public var imagePositions: [Int] { image.positions }

    /// The position id of the first generated token (every row): one past the largest id.
    public var nextPositionID: Int { (positionRows.compactMap { $0.max() }.max() ?? -1) + 1 }

    /// The positions from `position` on (the ones before come from a cache), image layout
    /// renumbered from 0 and position ids kept.
    func suffix(from position: Int) -> ModelInput {
        ModelInput(tokens: Array(tokens[position...]), image: image.suffix(from: position),
                   positionRows: positionRows.map { Array($0[position...]) })
    }
}

/// A loaded model of any family, as commands, bundles and EAH use it: inputs prepared from ids
/// and images, generation with a KV cache (and a session's reuse), the prefill that calibration
/// observes, and what bundles need (bake targets, the decoder's shape, companions).
///
/// EAH acts through the `AttentionHook` passed in: the one mechanism that observes attention
/// for calibration and broadcasts a head's map.
public protocol VisionLanguageModel: AnyObject, Sendable {
    /// The family's name as manifests and reports record it (`llava-1.5`, `qwen2-vl`).
    var family: String { get }
    /// The weight layout the checkpoint was in (`llava-hf`, `qwen2-vl-hf`).
    var layoutName: String { get }
    var shape: DecoderShape { get }
    /// Ids that end an answer, from the model's config.
    var eosTokenIDs: [Int] { get }
    /// Where the tokenizer, preprocessor and bundle companions come from.
    var companions: ModelCompanions { get }
    /// The checkpoint holding the text decoder (the one `--bake` rewrites).
    var textCheckpoint: any CheckpointReader { get }
    /// Whether the model has a vision tower (false for a text-only decoder: no image, no EAH).
    var takesImages: Bool { get }

    /// The tensors `--bake` rewrites in `layer` (names the checkpoint lacks are left out).
    func bakeTargets(layer: Int) -> [BakeTarget]

    /// The family's input processor over `tokenizer`: how rendered text becomes ids and a picture
    /// becomes pixel values (`imageMode` overrides the preprocessing where the family has modes).
    func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor

    /// Pixel values stored as such (`eah-run --pixel-values`: a safetensors `pixel_values`).
    func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage

    /// The prompt for `ids` (as the processor encodes a rendered template) with `images` at the
    /// family's image markers; ids outside the vocabulary and marker/image mismatches are refused.
    func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput

    /// Runs the prompt (reusing what `session` caches of it) and decodes up to `maxTokens`
    /// tokens; stops after a token in `stopTokens` or when `onToken` returns false. With
    /// `collectLogits`, the result holds every computed row of logits.
    func generate(_ input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int, sampling: SamplingParameters,
                  stopTokens: Set<Int>, hook: AttentionHook?, collectLogits: Bool, onToken: (Int) -> Bool) throws(ModelProblem) -> GenerationResult

    /// Runs the prompt through decoder layers `0...lastLayer` only, for `hook` to observe.
    func observePrefill(_ input: ModelInput, images: [PreparedImage], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem)
}

extension VisionLanguageModel {
    public var takesImages: Bool { true }

    /// Every checkpoint holding the model's weights: the text checkpoint, then the companions
    /// (vision tower, mmproj) a bundle carries.
    public var weightCheckpoints: [any CheckpointReader] { [textCheckpoint] + companions.bundled.map(\.reader) }

    /// A one-off generation (no session kept).
    public func generate(_ input: ModelInput, images: [PreparedImage], maxTokens: Int, sampling: SamplingParameters = .greedy,
                         stopTokens: Set<Int> = [], hook: AttentionHook? = nil, collectLogits: Bool = false,
                         onToken: (Int) -> Void = { _ in }) throws(ModelProblem) -> GenerationResult {
        try generate(input, images: images, session: GenerationSession(), maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
                     hook: hook, collectLogits: collectLogits) { onToken($0); return true }
    }

    /// A generation in `session` (a conversation's turns), without collected logits.
    public func generate(_ input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int,
                         sampling: SamplingParameters = .greedy, stopTokens: Set<Int> = [], hook: AttentionHook? = nil,
                         onToken: (Int) -> Bool) throws(ModelProblem) -> GenerationResult {
        try generate(input, images: images, session: session, maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
                     hook: hook, collectLogits: false, onToken: onToken)
    }
}

/// How one family turns text and pictures into what its model reads.
public protocol InputProcessor: Sendable {
    /// Token ids of a rendered prompt, with the image marker as the family's `prepare` expects it.
    func encode(_ text: String, addBOS: Bool) -> [Int]
    /// A decoded picture (`origin` names it in errors) preprocessed for the vision encoder.
    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage
}

/// A family model whose images become rows of the decoder's input at their runs' positions
/// (Qwen2-VL, InternVL, Gemma 3): generation and the observed prefill come from
/// `DecoderGeneration`, given how the family embeds an input and a single token.
protocol ImageRunDecoderModel: VisionLanguageModel {
    var decoder: TransformerDecoder { get }
    /// Token embeddings with each image's features at its run (`images[i]` fills run `i`).
    func inputEmbeddings(_ input: ModelInput, images: ArraySlice<PreparedImage>) throws(ModelProblem) -> [Float]
    /// A text token's embedding written into `destination`.
    func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>)
}

extension ImageRunDecoderModel {
    public func generate(_ input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int, sampling: SamplingParameters,
                         stopTokens: Set<Int>, hook: AttentionHook?, collectLogits: Bool, onToken: (Int) -> Bool) throws(ModelProblem) -> GenerationResult {
        try DecoderGeneration.generate(
            decoder: decoder, input: input, images: images, session: session, maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
            hook: hook, collectLogits: collectLogits,
            embeddings: { rest throws(ModelProblem) in
                // Runs before the cached prefix are whole images already in the cache.
                try inputEmbeddings(rest, images: images.suffix(rest.image.runs.count))
            },
            embed: { embed($0, into: $1) }, onToken: onToken)
    }

    public func observePrefill(_ input: ModelInput, images: [PreparedImage], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        DecoderGeneration.observePrefill(decoder: decoder, input: input, embeddings: try inputEmbeddings(input, images: images[...]),
                                         hook: hook, throughLayer: lastLayer)
    }
}

/// The input embeddings every family builds the same way: each image's features at its run of
/// positions (`images[i]` fills the input's run `i`), every other position its token's embedding.
enum InputEmbeddings {
    /// `features(i, image)` gives image `i`'s rows (`hidden` wide, one per position of its run);
    /// `embed(token, row)` writes a token's embedding into `row`.
    static func merge(_ input: ModelInput, images: ArraySlice<PreparedImage>, hidden: Int,
                      features: (Int, PreparedImage) throws(ModelProblem) -> [Float],
                      embed: (Int, UnsafeMutableBufferPointer<Float>) -> Void) throws(ModelProblem) -> [Float] {
        guard images.count == input.image.runs.count else {
            throw .badInput("the prompt has \(input.image.runs.count) images but \(images.count) were given")
        }
        var embeddings = [Float](repeating: 0, count: input.tokens.count * hidden)
        var isImage = [Bool](repeating: false, count: input.tokens.count)
        for (index, (run, image)) in zip(input.image.runs, images).enumerated() {
            let rows = try features(index, image)
            guard rows.count == run.kinds.count * hidden else {
                throw .badInput("image \(index) has \(run.kinds.count) positions but yields \(rows.count / hidden) features")
            }
            for (row, position) in run.positions.enumerated() {
                isImage[position] = true
                for i in 0..<hidden { embeddings[position * hidden + i] = rows[row * hidden + i] }
            }
        }
        embeddings.withUnsafeMutableBufferPointer { output in
            for (position, token) in input.tokens.enumerated() where !isImage[position] {
                embed(token, UnsafeMutableBufferPointer(rebasing: output[(position * hidden)..<((position + 1) * hidden)]))
            }
        }
        return embeddings
    }
}

/// The generation loop every decoder-backed family shares: session reuse, prefill, greedy or
/// sampled decoding with M-RoPE-aware positions.
enum DecoderGeneration {
    static func generate(
        decoder: TransformerDecoder, input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int,
        sampling: SamplingParameters, stopTokens: Set<Int>, hook: AttentionHook?, collectLogits: Bool,
        embeddings: (ModelInput) throws(ModelProblem) -> [Float], embed: (Int, UnsafeMutableBufferPointer<Float>) -> Void,
        onToken: (Int) -> Bool
    ) throws(ModelProblem) -> GenerationResult {
        let spec = decoder.spec, hidden = spec.hiddenSize, vocab = spec.vocabSize
        guard !input.tokens.isEmpty else { throw .badInput("the prompt is empty") }
        let a = spec.attention
        let cache = session.cache(layerCount: spec.layerCount, kvWidth: a.kvHeadCount * a.headDim, capacity: input.tokens.count + maxTokens)
        let pixels = images.map(\.pixelValues)
        let reused = session.reusablePrefix(of: input, pixelValues: pixels)
        cache.truncate(to: reused)
        session.record(tokens: Array(input.tokens[..<reused]), imagePositions: input.imagePositions.filter { $0 < reused },
                       pixelValues: pixels, reused: reused)
        // Only the new positions are embedded; an image before `reused` is in the cache already.
        let rest = input.suffix(from: reused)
        let count = rest.tokens.count
        let promptHidden = decoder.forward(try embeddings(rest), count: count, positionIDs: rest.positionRows[0], sectionPositionIDs: rest.positionRows,
                                           cache: cache, hook: hook, imagePositions: input.imagePositions, imageKinds: input.image.kinds,
                                           imageBlocks: input.image.runs.map(\.positions), phase: .prefill)
        var collected: [Float] = []
        var last: [Float]
        if collectLogits {
            collected = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: count) }
            last = Array(collected[(collected.count - vocab)...])
        } else {
            last = promptHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress! + (count - 1) * hidden, rows: 1) }
        }
        var sampler = TokenSampler(sampling)
        var tokens: [Int] = []
        var cached = input.tokens
        defer { session.record(tokens: cached, imagePositions: input.imagePositions, pixelValues: pixels, reused: reused) }
        while tokens.count < maxTokens {
            let token = last.withUnsafeBufferPointer { sampler.next($0) }
            tokens.append(token)
            let wantsMore = onToken(token)
            if !wantsMore || stopTokens.contains(token) || tokens.count == maxTokens { break }
            var embedding = [Float](repeating: 0, count: hidden)
            embedding.withUnsafeMutableBufferPointer { embed(token, $0) }
            // Decoding continues on every row from one past the prompt's largest id.
            let stepHidden = decoder.forward(embedding, count: 1, positionIDs: [input.nextPositionID + tokens.count - 1], cache: cache,
                                             hook: hook, imagePositions: input.imagePositions, imageKinds: input.image.kinds, phase: .decode)
            cached.append(token)
            last = stepHidden.withUnsafeBufferPointer { decoder.logits($0.baseAddress!, rows: 1) }
            if collectLogits { collected += last }
        }
        return GenerationResult(tokens: tokens, promptLength: input.tokens.count, logits: collectLogits ? collected : nil)
    }

    static func observePrefill(decoder: TransformerDecoder, input: ModelInput, embeddings: [Float], hook: AttentionHook,
                               throughLayer lastLayer: Int) {
        let spec = decoder.spec, a = spec.attention
        let layers = min(lastLayer + 1, spec.layerCount)
        let cache = KVCache(layerCount: layers, kvWidth: a.kvHeadCount * a.headDim, capacity: input.tokens.count)
        _ = decoder.forward(embeddings, count: input.tokens.count, positionIDs: input.positionRows[0], sectionPositionIDs: input.positionRows,
                            cache: cache, hook: hook, imagePositions: input.imagePositions, imageKinds: input.image.kinds,
                            imageBlocks: input.image.runs.map(\.positions), layerLimit: layers)
    }
}
