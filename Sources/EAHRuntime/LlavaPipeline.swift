import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHModel

/// A LLaVA model with everything between a picture, a question and its inputs: the tokenizer,
/// the conversation template, the image preprocessor and its mode, found beside the weights.
///
/// Where each piece comes from, by layout:
/// - llava-hf folder: `tokenizer.json` (else `tokenizer.model`), `preprocessor_config.json`
///   (or `processor_config.json`'s image processor), crop mode;
/// - original LLaVA: `tokenizer.model` beside the weights, `preprocessor_config.json` in the
///   `--vision-tower` folder, the mode from `image_aspect_ratio` (`pad` for LLaVA-1.5);
/// - llama.cpp GGUF: the text GGUF's `tokenizer.ggml.*`, the mmproj's mean/std/size, pad mode
///   (as llama.cpp's clip pads to a square).
/// `imageMode` and `templateName` override the defaults; `textOverlay` replaces text tensors
/// (see `LlavaLoader`).
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
        let weights = try LlavaLoader.load(model: path, visionTower: visionTower, mmproj: mmproj, textOverlay: textOverlay)
        model = LlavaModel(weights: weights, pool: pool)
        let folder = ModelFiles.folder(of: path)
        switch weights.layout {
        case .llamaCppText:
            tokenizer = try TokenizerFile.load(path: path)
            guard let mmproj else { throw CheckpointError(path: path, problem: ModelProblem.needsCompanion("pass --mmproj")) }
            preprocessor = CLIPPreprocessor(config: try PreprocessorConfig(mmproj: try GGUFReader(path: mmproj)))
            self.imageMode = imageMode ?? .pad
            imageIsToken = false
        case .llavaOriginal:
            tokenizer = try TokenizerFile.load(path: try ModelFiles.tokenizer(in: folder))
            let towerFolder = ModelFiles.folder(of: visionTower ?? folder)
            preprocessor = CLIPPreprocessor(config: try ModelFiles.preprocessorConfig(in: towerFolder))
            if let imageMode { self.imageMode = imageMode } else { self.imageMode = try ModelFiles.originalImageMode(in: folder) }
            imageIsToken = false
        default:
            tokenizer = try TokenizerFile.load(path: try ModelFiles.tokenizer(in: folder))
            preprocessor = CLIPPreprocessor(config: try ModelFiles.preprocessorConfig(in: folder))
            self.imageMode = imageMode ?? .crop
            imageIsToken = true
        }
        template = try ConversationTemplate.resolve(modelDirectory: folder, explicitName: templateName)
        if imageIsToken { try checkImageToken(folder: folder) }
    }

    /// llava-hf: `<image>` must be one token whose id is the config's `image_token_index`, else
    /// every prompt would lack its image positions; the problem is named where it is.
    private func checkImageToken(folder: String) throws(CheckpointError) {
        let ids = tokenizer.encode("<image>", addBOS: false)
        guard ids.count == 1 else {
            throw CheckpointError(path: folder, problem: PromptProblem.imageNotAToken(pieces: ids.count))
        }
        guard ids[0] == config.imageTokenIndex else {
            throw CheckpointError(path: folder + "/config.json", problem: PromptProblem.imageTokenMismatch(
                configIndex: config.imageTokenIndex, tokenizerID: ids[0]))
        }
    }

    public var config: LlavaConfig { model.config }

    /// The prompt for one question about one image: the conversation template rendered, then
    /// tokenized with the image's feature positions marked; refused when longer than the
    /// model's context (`ContextWindow`).
    public func prompt(question: String, systemPrompt: String? = nil, addBOS: Bool = true) throws(CheckpointError) -> LlavaPrompt {
        let text = try template.render(prompt: question, systemPrompt: systemPrompt)
        let ids = encode(text, addBOS: addBOS)
        let prompt: LlavaPrompt
        do throws(ModelProblem) {
            prompt = try LlavaPrompt.fromRawIDs(ids, config: config)
        } catch {
            throw CheckpointError(path: "prompt", problem: error)
        }
        _ = try ContextWindow.tokensAfter(prompt, requested: 0, config: config, source: "prompt")
        return prompt
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
