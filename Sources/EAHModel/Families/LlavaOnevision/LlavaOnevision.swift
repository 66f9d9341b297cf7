import EAHCheckpoint
import EAHCore

/// LLaVA-OneVision: a SigLIP tower (no class token, learned positions, gelu_tanh; features of the
/// last layer before the post-norm, strategy `full`), the LLaVA two-layer GELU projector and a
/// Qwen2 decoder (q/k/v biases, GQA, tied embeddings). Images are NeXT's anyres tiles plus the
/// base image, packed with `anyres_max_9`: the unpadded feature grid shrunk bilinearly when it
/// holds more than about nine tiles' features (`AnyResConfig.maxTiles`). Layout: llava-hf (every
/// transformers naming, as LLaVA-1.5's table gives them) and lmms-lab's original release
/// (`LlavaQwenForCausalLM`, `image_aspect_ratio: anyres_max_N`, `model.mm_projector.*`,
/// `model.image_newline`, the SigLIP tower inside the checkpoint; its SigLIP folder, `--vision-tower`,
/// gives the tower's config and preprocessing only).
public enum LlavaOnevision: ModelFamily {
    public static let name = "llava-onevision"
    public static let modelTypes: Set<String> = ["llava_onevision"]

    /// LlavaOnevisionConfig's defaults (SigLIP-so400m/14 at 384, Qwen2, `<image>` 151646).
    public static let defaults = LlavaConfigReader.HFDefaults(
        modelType: "llava_onevision", textType: "qwen2", visionType: "siglip_vision_model",
        visionDefaults: (hidden: 1152, intermediate: 4304, layers: 26, heads: 16, image: 384, patch: 14),
        featureLayer: -1, strategy: "full", imageTokenIndex: 151646,
        anyresPinpoints: (1...6).flatMap { rows in (1...6).map { ImageSize(height: 384 * rows, width: 384 * $0) } },
        visionAspectRatio: "anyres_max_9")

    /// lmms-lab's release marks OneVision with `image_aspect_ratio: anyres_max_N`; GGUF is not read.
    public static func claims(originalConfig: JSONValue) -> Bool {
        if case .string(let ratio)? = originalConfig["image_aspect_ratio"] { return ratio.hasPrefix("anyres_max_") }
        return false
    }
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool { false }

    public static func layoutDescription(_ layout: WeightLayout, modelType: String?, metadata: [MetadataEntry]) -> String? {
        guard layout == .llavaHF || layout == .llavaHFCurrent, let modelType, modelTypes.contains(modelType) else { return nil }
        return layout.rawValue + " (llava-onevision: base image, tiles cropped to the image's aspect and shrunk under anyres_max_9, image_newline after each row)"
    }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        guard layout == .llavaHF || layout == .llavaHFCurrent || layout == .llavaOriginal else {
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                "LLaVA-OneVision is read in the llava-hf and lmms-lab layouts; this checkpoint is in the \(layout.rawValue) layout"))
        }
        let naming = layout == .llavaOriginal ? WeightNameTable.originalTowerInside : nil
        return LlavaModel(weights: try LlavaLoader.load(request, reader: reader, layout: layout, family: name, naming: naming) { json throws(ModelProblem) in
            try LlavaConfigReader.llavaHF(json, defaults: defaults)
        }, pool: pool)
    }
}
