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
        // A GGUF's own tokenizer.chat_template (llama.cpp's layout carries it), else the folder's.
        if templateName == nil, case .ggufMetadata(let file) = companions.tokenizer,
           let own = try ConversationTemplate.fromGGUF(path: file, metadata: try GGUFReader(path: file).metadata) {
            template = own
        } else {
            template = try ConversationTemplate.resolve(modelDirectory: ModelFiles.folder(of: path), explicitName: templateName)
        }
        if imageIsToken { try checkImageToken(folder: ModelFiles.folder(of: path)) }
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
    /// model's context (`ContextWindow`). Families whose layout depends on the picture (NeXT)
    /// need its `imageSize`.
    public func prompt(question: String, systemPrompt: String? = nil, addBOS: Bool = true, imageSize: ImageSize? = nil,
                       imagePath: String = "image") throws(CheckpointError) -> LlavaPrompt {
        let text = try template.render(prompt: question, systemPrompt: systemPrompt)
        let ids = encode(text, addBOS: addBOS)
        let prompt: LlavaPrompt
        do throws(ModelProblem) {
            prompt = try LlavaPrompt.fromRawIDs(ids, config: config, imageSize: imageSize)
        } catch {
            throw CheckpointError(path: "prompt", problem: error)
        }
        try Self.checkImageFits(prompt, config: config, path: imagePath)
        _ = try ContextWindow.tokensAfter(prompt, requested: 0, config: config, source: "prompt")
        return prompt
    }

    /// The prompt and the pixel values for a question about the image at `path` (decoded once).
    public func inputs(question: String, image path: String, systemPrompt: String? = nil) throws(CheckpointError) -> (prompt: LlavaPrompt, pixelValues: [Float]) {
        let image = try decode(image: path)
        let prompt = try self.prompt(question: question, systemPrompt: systemPrompt, imageSize: ImageSize(height: image.height, width: image.width),
                                     imagePath: path)
        return (prompt, pixelValues(of: image))
    }

    /// Refuses a prompt whose image alone needs more positions than the model's context.
    static func checkImageFits(_ prompt: LlavaPrompt, config: LlavaConfig, path: String) throws(CheckpointError) {
        let needed = prompt.image.count, context = config.text.maxPositionEmbeddings
        guard needed <= context else {
            throw CheckpointError(path: path, problem: ModelProblem.imageTooLarge(needed: needed, context: context))
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
        pixelValues(of: try decode(image: path))
    }

    /// The image at `path`, decoded as transformers' `load_image` does.
    public func decode(image path: String) throws(CheckpointError) -> RGBImage {
        try ImageDecoder().decode(path: path)
    }

    /// `image` preprocessed for the vision tower: one square (LLaVA-1.5), or NeXT's base image
    /// and tiles for the resolution the family's layout picks.
    public func pixelValues(of image: RGBImage) -> [Float] {
        let size = ImageSize(height: image.height, width: image.width)
        guard let layout = config.anyresLayout(for: size) else { return preprocessor.preprocess(image, mode: imageMode).values }
        let resized = AnyResLayout.resizedSize(of: size, into: layout.resolution)
        return preprocessor.anyresPixelValues(image, resized: (resized.height, resized.width),
                                              resolution: (layout.resolution.height, layout.resolution.width), tile: config.vision.imageSize)
    }

    /// Ids that end an answer: the tokenizer's EOS and the config's.
    public var stopTokens: Set<Int> {
        Set(config.text.eosTokenIDs + (tokenizer.eosID.map { [$0] } ?? []))
    }
}
