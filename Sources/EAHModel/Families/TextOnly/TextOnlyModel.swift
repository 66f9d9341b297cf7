import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// A loaded text-only decoder: prompts are token ids alone; an image is refused, since the
/// model has no vision tower (and EAH, which acts on image columns, has nothing to act on).
public final class TextOnlyModel: VisionLanguageModel, @unchecked Sendable {
    public let config: LlamaConfig
    public let weights: LlamaWeights
    public let layout: WeightLayout
    let scheme: WeightNameTable.Scheme
    let reader: any CheckpointReader
    public let companions: ModelCompanions
    let decoder: TransformerDecoder
    /// A doubled leading BOS (a template writing `<bos>` and a tokenizer adding one) becomes one,
    /// as Gemma's chat usage gives (transformers' apply_chat_template, llama.cpp's chat path).
    var singleBOS = false

    /// `spec` replaces the LLaMA-style decoder `config` describes (Gemma 3's).
    init(config: LlamaConfig, spec: DecoderSpec? = nil, weights: LlamaWeights, layout: WeightLayout, scheme: WeightNameTable.Scheme,
         reader: any CheckpointReader, companions: ModelCompanions, pool: ThreadPool) {
        self.config = config
        self.weights = weights
        self.layout = layout
        self.scheme = scheme
        self.reader = reader
        self.companions = companions
        decoder = TransformerDecoder(spec: spec ?? config.spec, weights: weights, pool: pool)
    }

    public var family: String { companions.family }
    public var layoutName: String { layout.rawValue }
    public var textCheckpoint: any CheckpointReader { reader }
    public var eosTokenIDs: [Int] { config.eosTokenIDs }
    public var shape: DecoderShape { DecoderShape(decoder.spec) }
    public var takesImages: Bool { false }

    public func bakeTargets(layer: Int) -> [BakeTarget] {
        WeightNameTable.bakeTargets(layer: layer).compactMap { target in
            let name = WeightNameTable.name(target.role, in: scheme)
            return reader.tensor(named: name) == nil ? nil : BakeTarget(name: name, perKVHead: target.perKVHead)
        }
    }

    public func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor {
        TextOnlyProcessor(tokenizer: tokenizer, model: reader.path, singleBOS: singleBOS)
    }

    public func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage {
        throw CheckpointError(path: path, problem: ModelProblem.noVisionTower)
    }

    public func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput {
        guard images.isEmpty, !ids.contains(LlavaPrompt.imageIndex) else { throw .noVisionTower }
        let vocab = config.vocabSize
        if let (position, id) = ids.enumerated().first(where: { !(0..<vocab).contains($0.element) }) {
            throw .badInput("token id \(id) at position \(position) is outside the vocabulary (0..<\(vocab))")
        }
        return ModelInput(tokens: ids, image: ImageLayout())
    }

    public func generate(_ input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int, sampling: SamplingParameters,
                         stopTokens: Set<Int>, hook: AttentionHook?, collectLogits: Bool, onToken: (Int) -> Bool) throws(ModelProblem) -> GenerationResult {
        guard images.isEmpty else { throw .noVisionTower }
        return try DecoderGeneration.generate(
            decoder: decoder, input: input, images: [], session: session, maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
            hook: hook, collectLogits: collectLogits, embeddings: { rest in embeddings(rest.tokens) }, embed: { embed($0, into: $1) }, onToken: onToken)
    }

    public func observePrefill(_ input: ModelInput, images: [PreparedImage], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        guard images.isEmpty else { throw .noVisionTower }
        DecoderGeneration.observePrefill(decoder: decoder, input: input, embeddings: embeddings(input.tokens), hook: hook, throughLayer: lastLayer)
    }

    /// The token rows of `tokens` (ids checked by `prepare`).
    private func embeddings(_ tokens: [Int]) -> [Float] {
        let hidden = config.hiddenSize
        var rows = [Float](repeating: 0, count: tokens.count * hidden)
        rows.withUnsafeMutableBufferPointer { output in
            for (position, token) in tokens.enumerated() {
                embed(token, into: UnsafeMutableBufferPointer(rebasing: output[(position * hidden)..<((position + 1) * hidden)]))
            }
        }
        return rows
    }

    private func embed(_ token: Int, into destination: UnsafeMutableBufferPointer<Float>) {
        try? weights.embedTokens.dequantizeRow(token, into: destination)
        let multiplier = decoder.spec.embeddingMultiplier
        if multiplier != 1 { for i in destination.indices { destination[i] *= multiplier } }
    }
}

/// Text in, ids out; a picture is refused.
struct TextOnlyProcessor: InputProcessor {
    let tokenizer: any Tokenizer
    let model: String
    var singleBOS = false

    func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids = tokenizer.encode(text, addBOS: addBOS)
        if singleBOS, addBOS, ids.count >= 2, let bos = tokenizer.bosID, ids[0] == bos, ids[1] == bos { ids.removeFirst() }
        return ids
    }

    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage {
        throw CheckpointError(path: origin, problem: ModelProblem.noVisionTower)
    }
}
