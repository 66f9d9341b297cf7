import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHModel

/// A LLaVA model with everything between a picture, a question and its inputs: the tokenizer,
/// the conversation template, the image preprocessor and its mode.
///
/// Where each piece comes from is decided by the model's family and layout when it loads
/// (`ModelCompanions`): a folder's `tokenizer.json`/`tokenizer.model` or a GGUF's
/// `tokenizer.ggml.*`; a folder's `preprocessor_config.json` (or `processor_config.json`) or an
/// mmproj's mean/std/size; the family's image mode. `imageMode` and `templateName` override the
/// defaults; `textOverlay` replaces text tensors (see `ModelRequest`).
public final class LlavaPipeline: @unchecked Sendable {
    public let model: LlavaModel
    public let tokenizer: any Tokenizer
    public let preprocessor: CLIPPreprocessor
    public let imageMode: PreprocessMode
    public let template: ConversationTemplate
    /// Whether `<image>` is a token of the tokenizer (llava-hf) or a text marker split around
    /// (original LLaVA's `tokenizer_image_token`).
    private let imageIsToken: Bool

    public init(model path: String, visionTower: String? = nil, mmproj: String? = nil, templateName: String? = nil,
                imageMode: PreprocessMode? = nil, textOverlay: String? = nil, pool: ThreadPool = .shared) throws(CheckpointError) {
        let weights = try ModelFamilies.load(ModelRequest(model: path, visionTower: visionTower, mmproj: mmproj, textOverlay: textOverlay))
        model = LlavaModel(weights: weights, pool: pool)
        let companions = weights.companions
        switch companions.tokenizer {
        case .folder(let folder): tokenizer = try TokenizerFile.load(path: try ModelFiles.tokenizer(in: folder))
        case .ggufMetadata(let file): tokenizer = try TokenizerFile.load(path: file)
        }
        switch companions.preprocessor {
        case .folder(let folder): preprocessor = CLIPPreprocessor(config: try ModelFiles.preprocessorConfig(in: folder))
        case .mmproj(let file): preprocessor = CLIPPreprocessor(config: try PreprocessorConfig(mmproj: try GGUFReader(path: file)))
        }
        self.imageMode = imageMode ?? PreprocessMode(rawValue: companions.imageMode) ?? .crop
        imageIsToken = companions.imageIsToken
        template = try ConversationTemplate.resolve(modelDirectory: ModelFiles.folder(of: path), explicitName: templateName)
    }

    public var config: LlavaConfig { model.config }

    /// The prompt for one question about one image: the conversation template rendered, then
    /// tokenized with the image's feature positions marked.
    public func prompt(question: String, systemPrompt: String? = nil, addBOS: Bool = true) throws(CheckpointError) -> LlavaPrompt {
        let text = try template.render(prompt: question, systemPrompt: systemPrompt)
        let ids = encode(text, addBOS: addBOS)
        do throws(ModelProblem) {
            return try LlavaPrompt.fromRawIDs(ids, config: config)
        } catch {
            throw CheckpointError(path: "prompt", problem: error)
        }
    }

    /// Token ids of a rendered prompt holding one `<image>`, which becomes the -200 marker.
    ///
    /// llava-hf: the whole text is tokenized (`<image>` is an added token) as its processor
    /// does. Original LLaVA and GGUF: the text is split at `<image>` and each piece tokenized
    /// on its own, BOS only at the start, as LLaVA's `tokenizer_image_token` does.
    public func encode(_ text: String, addBOS: Bool = true) -> [Int] {
        if imageIsToken {
            return tokenizer.encode(text, addBOS: addBOS).map { $0 == config.imageTokenIndex ? LlavaPrompt.imageIndex : $0 }
        }
        var ids: [Int] = []
        for (index, chunk) in text.split(separator: "<image>", omittingEmptySubsequences: false).enumerated() {
            if index > 0 { ids.append(LlavaPrompt.imageIndex) }
            ids += tokenizer.encode(String(chunk), addBOS: index == 0 && addBOS)
        }
        return ids
    }

    /// The image at `path` decoded and preprocessed for the vision tower.
    public func pixelValues(image path: String) throws(CheckpointError) -> [Float] {
        try preprocessor.preprocess(path: path, mode: imageMode).values
    }

    /// Ids that end an answer: the tokenizer's EOS and the config's.
    public var stopTokens: Set<Int> {
        Set(config.text.eosTokenIDs + (tokenizer.eosID.map { [$0] } ?? []))
    }
}
