import EAHCheckpoint
import EAHCore
import EAHFrontEnd

/// Gemma 3 (`Gemma3ForConditionalGeneration`): SigLIP read after its post-norm, average-pooled to
/// `mm_tokens_per_image` soft tokens, RMSNorm and projection, and the Gemma 3 decoder. Each image
/// is `\n\n<start_of_image>` + its soft tokens + `<end_of_image>\n\n`; during the prefill the
/// soft tokens of one image attend to each other both ways (EAH's sink rule still counts only
/// rows after a column). Layouts: transformers folders (`llava-hf`, `llava-hf-current` naming),
/// llama.cpp's `gemma3` text GGUF with its `gemma3` mmproj (`Gemma3LlamaCppNames`).
public enum Gemma3: ModelFamily {
    public static let name = "gemma3"
    public static let modelTypes: Set<String> = ["gemma3"]

    public static func claims(originalConfig: JSONValue) -> Bool { false }
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool {
        metadata.first { $0.key == "clip.projector_type" }?.value.string == "gemma3"
    }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        if layout == .llamaCppText {
            guard let mmproj = request.mmproj else {
                throw CheckpointError(path: request.model, problem: ModelProblem.needsCompanion("a Gemma 3 text GGUF needs its mmproj: pass --mmproj"))
            }
            let projector = try GGUFReader(path: mmproj)
            let weights = try Gemma3Loader.load(llamaCpp: reader, mmproj: projector)
            let companions = ModelCompanions(
                family: name, architecture: "gemma3 (gguf)", tokenizer: .ggufMetadata(request.model), preprocessor: .mmproj(mmproj),
                imageMode: "", imageIsToken: true, isGGUF: true, bundled: [ModelCompanions.Bundled(kind: .mmproj, reader: projector, files: [])])
            return Gemma3Model(weights: weights, companions: companions, pool: pool)
        }
        guard layout == .llavaHF || layout == .llavaHFCurrent else {
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                "config.json names a Gemma 3 model, but the tensors are in the \(layout.rawValue) layout (expected transformers' language_model.model.*/vision_tower.* or model.language_model.*/model.vision_tower.*, or llama.cpp's gemma3 GGUF with --mmproj)"))
        }
        let configPath = LlavaLoader.configPath(beside: request.model)
        let json = try LlavaLoader.parseJSON(configPath)
        let config: Gemma3Config
        do throws(ModelProblem) { config = try Gemma3ConfigReader.read(json) } catch { throw CheckpointError(path: configPath, problem: error) }
        let weights = try Gemma3Loader.load(reader: reader, config: config)
        let folder = ModelFiles.folder(of: request.model)
        let companions = ModelCompanions(
            family: name, architecture: LlavaLoader.architecture(json, fallback: "gemma3"), tokenizer: .folder(folder),
            preprocessor: .folder(folder), imageMode: "", imageIsToken: true, isGGUF: false, bundled: [])
        return Gemma3Model(weights: weights, companions: companions, pool: pool)
    }
}

extension Gemma3Model: ImageRunDecoderModel {
    public var family: String { companions.family }
    public var layoutName: String { weights.layout.name }
    public var shape: DecoderShape { DecoderShape(config.text) }
    public var eosTokenIDs: [Int] { config.eosTokenIDs }
    public var textCheckpoint: any CheckpointReader { weights.source }

    /// q rows per query head, k rows per KV head (no biases; the QK-norm weights are shared by
    /// every head, so copying rows stays exact).
    public func bakeTargets(layer: Int) -> [BakeTarget] {
        [("self_attn.q_proj.weight", false), ("self_attn.k_proj.weight", true)]
            .map { BakeTarget(name: weights.layout.layer(layer, $0.0), perKVHead: $0.1) }
            .filter { weights.source.tensor(named: $0.name) != nil }
    }

    public func makeProcessor(tokenizer: any Tokenizer, imageMode: PreprocessMode?) throws(CheckpointError) -> any InputProcessor {
        switch companions.preprocessor {
        case .folder(let folder):
            return try Gemma3InputProcessor(folder: folder, tokenizer: tokenizer, config: config)
        case .mmproj(let file):
            // The mmproj holds mean, std and size; Gemma3ImageProcessor resizes bilinearly.
            var settings = try PreprocessorConfig(mmproj: try GGUFReader(path: file))
            settings.resample = .bilinear
            return try Gemma3InputProcessor(settings: settings, tokenizer: tokenizer, config: config, origin: file)
        }
    }

    /// `[1, 3, S, S]` pixel values of one image.
    public func readPixelValues(_ path: String) throws(CheckpointError) -> PreparedImage {
        PreparedImage(pixelValues: try PixelValuesFile.read(path, config: config.vision), size: nil)
    }

    public func prepare(ids: [Int], images: [PreparedImage]) throws(ModelProblem) -> ModelInput {
        try Gemma3Prompt.make(ids: ids, imageCount: images.count, config: config)
    }

}

/// Gemma 3's prompt: runs of `mm_tokens_per_image` `<image_soft_token>` ids, one per image, as
/// `Gemma3Processor` expands each `<start_of_image>`.
enum Gemma3Prompt {
    static func make(ids: [Int], imageCount: Int, config: Gemma3Config) throws(ModelProblem) -> ModelInput {
        let vocab = config.text.vocabSize, soft = config.imageTokenID, n = config.tokensPerImage
        var runs: [ImageLayout.Run] = []
        var index = 0
        while index < ids.count {
            let id = ids[index]
            guard (0..<vocab).contains(id) else {
                throw .badInput("token id \(id) at position \(index) is outside the vocabulary (0..<\(vocab))")
            }
            guard id == soft else { index += 1; continue }
            var end = index
            while end < ids.count, ids[end] == soft { end += 1 }
            guard end - index == n else {
                throw .badInput("an image needs \(n) <image_soft_token> ids in a row (Gemma3Processor's expansion of <start_of_image>), found \(end - index) at position \(index)")
            }
            runs.append(ImageLayout.Run(start: index, kinds: [ImagePositionKind](repeating: .base, count: n)))
            index = end
        }
        guard runs.count == imageCount else {
            throw .badInput("\(imageCount) images were given but the prompt holds \(runs.count) image runs (one <start_of_image> per image)")
        }
        let context = config.text.rope.maxPositionEmbeddings
        guard ids.count <= context else {
            throw .badInput("the prompt needs \(ids.count) tokens (\(runs.count * n) for images), but the model's context is \(context) (max_position_embeddings)")
        }
        return ModelInput(tokens: ids, image: ImageLayout(runs: runs))
    }
}

/// Gemma 3's inputs as `Gemma3Processor` makes them: each `<start_of_image>` of the rendered
/// template becomes `\n\n<start_of_image>` + `mm_tokens_per_image` × `<image_soft_token>` +
/// `<end_of_image>\n\n` before the text is tokenized; pictures are squash-resized to the tower's
/// size (`Gemma3ImageProcessor`: no crop; pan-and-scan is refused), rescaled and normalized.
struct Gemma3InputProcessor: InputProcessor {
    static let startOfImage = "<start_of_image>"
    static let softToken = "<image_soft_token>"
    static let endOfImage = "<end_of_image>"

    let tokenizer: any Tokenizer
    let preprocessor: CLIPPreprocessor
    let expansion: String

    init(folder: String, tokenizer: any Tokenizer, config: Gemma3Config) throws(CheckpointError) {
        if Self.panAndScan(in: folder) {
            throw CheckpointError(path: folder, problem: ModelProblem.badConfig(
                field: "do_pan_and_scan", reason: "is true; pan-and-scan crops are not supported: set it to false"))
        }
        try self.init(settings: try ModelFiles.preprocessorConfig(in: folder), tokenizer: tokenizer, config: config, origin: folder)
    }

    /// `settings` resized to the tower's square without a crop; `origin` names where the
    /// tokenizer came from in errors.
    init(settings base: PreprocessorConfig, tokenizer: any Tokenizer, config: Gemma3Config, origin: String) throws(CheckpointError) {
        var settings = base
        settings.doCenterCrop = false
        settings.size = .exact(height: config.vision.imageSize, width: config.vision.imageSize)
        preprocessor = CLIPPreprocessor(config: settings)
        self.tokenizer = tokenizer
        for (text, id) in [(Self.startOfImage, config.boiTokenID), (Self.softToken, config.imageTokenID), (Self.endOfImage, config.eoiTokenID)] {
            let ids = tokenizer.encode(text, addBOS: false)
            guard ids == [id] else {
                throw CheckpointError(path: origin, problem: ModelProblem.badConfig(
                    field: "image tokens", reason: "\(text) tokenizes to \(ids), but config.json says \(id): the tokenizer and the model do not match"))
            }
        }
        expansion = "\n\n" + Self.startOfImage + String(repeating: Self.softToken, count: config.tokensPerImage) + Self.endOfImage + "\n\n"
    }

    /// Whether the folder's image processor settings ask for pan-and-scan.
    private static func panAndScan(in folder: String) -> Bool {
        for (file, section) in [("preprocessor_config.json", nil), ("processor_config.json", "image_processor")] as [(String, String?)] {
            let path = folder + "/" + file
            guard ModelFiles.exists(path), let json = try? LlavaLoader.parseJSON(path) else { continue }
            let settings = section.flatMap { json[$0] } ?? json
            return settings["do_pan_and_scan"] == .bool(true)
        }
        return false
    }

    /// The expanded text's ids. Gemma's template writes `<bos>` itself and Gemma's SentencePiece
    /// tokenizer adds one too: the doubled BOS is dropped, as transformers (the rendered template
    /// tokenized without special tokens) and llama.cpp (its chat path strips the template's BOS) do.
    func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids = tokenizer.encode(text.split(separator: Self.startOfImage, omittingEmptySubsequences: false).joined(separator: expansion), addBOS: addBOS)
        if addBOS, ids.count >= 2, let bos = tokenizer.bosID, ids[0] == bos, ids[1] == bos { ids.removeFirst() }
        return ids
    }

    func prepare(_ image: RGBImage, origin: String) throws(CheckpointError) -> PreparedImage {
        PreparedImage(pixelValues: preprocessor.preprocess(image).values, size: ImageSize(height: image.height, width: image.width))
    }
}
