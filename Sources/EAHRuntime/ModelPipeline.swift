import EAHCheckpoint
import EAHCore
import EAHFrontEnd
import EAHModel

/// A model of any family with everything between a picture, a question and its inputs: the
/// tokenizer, the conversation template and the family's input processor.
///
/// Where each piece comes from is decided by the model's family and layout when it loads
/// (`ModelCompanions`): a folder's `tokenizer.json`/`tokenizer.model` or a GGUF's
/// `tokenizer.ggml.*`; the preprocessing and the image markers are the family's
/// (`VisionLanguageModel.makeProcessor`). `imageMode` and `templateName` override the defaults;
/// `textOverlay` replaces text tensors (see `ModelRequest`).
public final class ModelPipeline: @unchecked Sendable {
    public let model: any VisionLanguageModel
    public let tokenizer: any Tokenizer
    public let processor: any InputProcessor
    public let template: ConversationTemplate

    /// `forEAH`: for calibration, which refuses a model without a vision tower (before looking
    /// for its tokenizer and template).
    public init(model path: String, visionTower: String? = nil, mmproj: String? = nil, templateName: String? = nil,
                imageMode: PreprocessMode? = nil, textOverlay: String? = nil, forEAH: Bool = false, pool: ThreadPool = .shared) throws(CheckpointError) {
        model = try ModelFamilies.load(ModelRequest(model: path, visionTower: visionTower, mmproj: mmproj, textOverlay: textOverlay), pool: pool)
        if forEAH, !model.takesImages { throw CheckpointError(path: path, problem: ModelProblem.textOnlyForEAH) }
        switch model.companions.tokenizer {
        case .folder(let folder): tokenizer = try TokenizerFile.load(path: try ModelFiles.tokenizer(in: folder))
        case .ggufMetadata(let file): tokenizer = try TokenizerFile.load(path: file)
        }
        processor = try model.makeProcessor(tokenizer: tokenizer, imageMode: imageMode)
        // A GGUF's own tokenizer.chat_template (llama.cpp's layout carries it), else the folder's.
        if templateName == nil, case .ggufMetadata(let file) = model.companions.tokenizer,
           let own = try ConversationTemplate.fromGGUF(path: file, metadata: try GGUFReader(path: file).metadata) {
            template = own
        } else {
            template = try ConversationTemplate.resolve(modelDirectory: ModelFiles.folder(of: path), explicitName: templateName)
        }
    }

    /// The decoder's layers, heads and context.
    public var shape: DecoderShape { model.shape }

    /// The prompt for one question about `images` (one, or none: the template rendered without
    /// an image part, a text-only prompt): the conversation template rendered, tokenized and laid
    /// out by the family; refused when the image or the prompt is longer than the model's context
    /// (`ContextWindow`).
    public func prompt(question: String, systemPrompt: String? = nil, addBOS: Bool = true, images: [PreparedImage],
                       imagePath: String = "image") throws(CheckpointError) -> ModelInput {
        let text = try template.render(prompt: question, systemPrompt: systemPrompt, hasImage: !images.isEmpty)
        let prompt = try prepare(ids: processor.encode(text, addBOS: addBOS), images: images, path: "prompt")
        try checkImageFits(prompt, path: imagePath)
        _ = try ContextWindow.tokensAfter(prompt, requested: 0, shape: shape, source: "prompt")
        return prompt
    }

    /// The prompt and the prepared image for a question about the image at `path` (decoded once).
    public func inputs(question: String, image path: String, systemPrompt: String? = nil) throws(CheckpointError) -> (prompt: ModelInput, images: [PreparedImage]) {
        let images = [try image(path: path)]
        return (try prompt(question: question, systemPrompt: systemPrompt, images: images, imagePath: path), images)
    }

    /// `model.prepare`, its problem reported against `path`.
    public func prepare(ids: [Int], images: [PreparedImage], path: String) throws(CheckpointError) -> ModelInput {
        do throws(ModelProblem) {
            return try model.prepare(ids: ids, images: images)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// Refuses a prompt whose images alone need more positions than the model's context.
    func checkImageFits(_ prompt: ModelInput, path: String) throws(CheckpointError) {
        let needed = prompt.image.count, context = shape.contextLength
        guard needed <= context else {
            throw CheckpointError(path: path, problem: ModelProblem.imageTooLarge(needed: needed, context: context))
        }
    }

    /// The image at `path`, decoded as transformers' `load_image` does and preprocessed by the family.
    public func image(path: String) throws(CheckpointError) -> PreparedImage {
        try checkTakesImages(origin: path)
        return try processor.prepare(try ImageDecoder().decode(path: path), origin: path)
    }

    /// Refuses any image for a model without a vision tower, before the image is read.
    func checkTakesImages(origin: String) throws(CheckpointError) {
        guard model.takesImages else { throw CheckpointError(path: origin, problem: ModelProblem.noVisionTower) }
    }

    /// Ids that end an answer: the tokenizer's EOS and the config's.
    public var stopTokens: Set<Int> {
        Set(model.eosTokenIDs + (tokenizer.eosID.map { [$0] } ?? []))
    }
}
