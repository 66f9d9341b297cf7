import EAHCheckpoint
import EAHFrontEnd

/// LLaVA-1.5, NeXT and OneVision through the family-agnostic interface: one image per prompt,
/// at the `<image>` marker (`-200`, or llava-hf's run of `image_token_index`).
extension LlavaModel: VisionLanguageModel {
    public var family: String { weights.companions.family }
    public var layoutName: String { weights.layout.rawValue }
    public var companions: ModelCompanions { weights.companions }
    public var textCheckpoint: any CheckpointReader { weights.sources[0] }
    public var eosTokenIDs: [Int] { config.text.eosTokenIDs }

    public var shape: DecoderShape {
        let text = config.text
        return DecoderShape(layerCount: text.layerCount, headCount: text.headCount, kvHeadCount: text.kvHeadCount, headDim: text.headDim,
                            vocabSize: text.vocabSize, contextLength: text.maxPositionEmbeddings)
    }

    public func bakeTargets(layer: Int) -> [BakeTarget] {
        weights.bakeTargets(layer: layer).map { BakeTarget(name: $0.name, perKVHead: $0.perKVHead) }
    }

    public func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor {
        try LlavaInputProcessor(model: self, tokenizer: tokenizer, imageMode: imageMode)
    }

    /// `[1, 3, S, S]` pixel values of one square image.
    public func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage {
        PreparedImage(pixelValues: try PixelValuesFile.read(path, config: config.vision), size: nil)
    }

    public func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput {
        switch images.count {
        case 0:
            guard !ids.contains(LlavaPrompt.imageIndex), config.imageTokenIndex == LlavaPrompt.imageIndex || !ids.contains(config.imageTokenIndex) else {
                throw .badInput("a message holds the image marker <image> but no image is attached")
            }
            let vocab = config.text.vocabSize
            if let (position, id) = ids.enumerated().first(where: { !(0..<vocab).contains($0.element) }) {
                throw .badInput("token id \(id) at position \(position) is outside the vocabulary (0..<\(vocab))")
            }
            return ModelInput(tokens: ids, image: ImageLayout())
        case 1:
            return try LlavaPrompt.fromRawIDs(ids, config: config, imageSize: images[0].size).input
        default:
            throw .badInput("\(images.count) images were given; LLaVA models take one image per prompt")
        }
    }

    public func generate(_ input: ModelInput, images: [PreparedImage], session: GenerationSession, maxTokens: Int, sampling: SamplingParameters,
                         stopTokens: Set<Int>, hook: AttentionHook?, collectLogits: Bool, onToken: (Int) -> Bool) throws(ModelProblem) -> GenerationResult {
        let pixels = try Self.pixelValues(images, input: input)
        return try DecoderGeneration.generate(
            decoder: decoder, input: input, images: images, session: session, maxTokens: maxTokens, sampling: sampling, stopTokens: stopTokens,
            hook: hook, collectLogits: collectLogits,
            embeddings: { rest throws(ModelProblem) in try promptEmbeddings(LlavaPrompt(rest), pixelValues: pixels) },
            embed: { embed($0, into: $1) }, onToken: onToken)
    }

    public func observePrefill(_ input: ModelInput, images: [PreparedImage], hook: AttentionHook, throughLayer lastLayer: Int) throws(ModelProblem) {
        let embeddings = try promptEmbeddings(LlavaPrompt(input), pixelValues: try Self.pixelValues(images, input: input))
        DecoderGeneration.observePrefill(decoder: decoder, input: input, embeddings: embeddings, hook: hook, throughLayer: lastLayer)
    }

    /// The one image's pixel values (none for a text-only prompt).
    private static func pixelValues(_ images: [PreparedImage], input: ModelInput) throws(ModelProblem) -> [Float] {
        guard images.count <= 1 else { throw .badInput("\(images.count) images were given; LLaVA models take one image per prompt") }
        return images.first?.pixelValues ?? []
    }
}

extension LlavaPrompt {
    /// The prompt as the family-agnostic interface carries it.
    public var input: ModelInput { ModelInput(tokens: tokens, image: image, positionRows: [positionIDs]) }

    init(_ input: ModelInput) {
        self.init(tokens: input.tokens, image: input.image, positionIDs: input.positionRows[0])
    }
}

/// LLaVA's inputs: `<image>` is one added token (llava-hf) or a text marker the prompt is split
/// around (original LLaVA's `tokenizer_image_token`, llama.cpp); pictures go through the CLIP
/// preprocessor (`pad` or `crop`), or NeXT/OneVision's anyres tiling.
struct LlavaInputProcessor: InputProcessor {
    let config: LlavaConfig
    let tokenizer: any Tokenizer
    let preprocessor: CLIPPreprocessor
    let imageMode: PreprocessMode
    let imageIsToken: Bool

    init(model: LlavaModel, tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) {
        let companions = model.companions
        config = model.config
        self.tokenizer = tokenizer
        switch companions.preprocessor {
        case .folder(let folder): preprocessor = CLIPPreprocessor(config: try ModelFiles.preprocessorConfig(in: folder))
        case .mmproj(let file): preprocessor = CLIPPreprocessor(config: try PreprocessorConfig(mmproj: try GGUFReader(path: file)))
        }
        self.imageMode = imageMode ?? PreprocessMode(rawValue: companions.imageMode) ?? .crop
        imageIsToken = companions.imageIsToken
        if imageIsToken, case .folder(let folder) = companions.tokenizer { try checkImageToken(folder: folder) }
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

    /// Token ids of a rendered prompt holding one `<image>`, which becomes the -200 marker.
    ///
    /// llava-hf: the whole text is tokenized (`<image>` is an added token) as its processor
    /// does. Original LLaVA and GGUF: the text is split at `<image>` and each piece tokenized
    /// on its own, BOS only at the start, as LLaVA's `tokenizer_image_token` does.
    func encode(_ text: String, addBOS: Bool) -> [Int] {
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

    /// One square (LLaVA-1.5), or NeXT's base image and tiles for the resolution its layout picks
    /// (from a GGUF: llama.cpp's slices and overview).
    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage {
        let size = ImageSize(height: image.height, width: image.width)
        guard let layout = config.anyresLayout(for: size) else {
            return PreparedImage(pixelValues: preprocessor.preprocess(image, mode: imageMode).values, size: size)
        }
        if layout.packing == .llamaCppSlices {
            let slices = layout.tileRows * layout.tileColumns > 0
            let resized = AnyResLayout.llamaCppResizedSize(of: size, into: layout.resolution)
            let values = preprocessor.llamaCppSlicePixelValues(image, resized: slices ? (resized.height, resized.width) : nil,
                                                               resolution: (layout.resolution.height, layout.resolution.width), tile: config.vision.imageSize)
            return PreparedImage(pixelValues: values, size: size)
        }
        let resized = AnyResLayout.resizedSize(of: size, into: layout.resolution)
        let values = preprocessor.anyresPixelValues(image, resized: (resized.height, resized.width),
                                                    resolution: (layout.resolution.height, layout.resolution.width), tile: config.vision.imageSize)
        return PreparedImage(pixelValues: values, size: size)
    }
}
