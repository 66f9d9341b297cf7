import EAHCheckpoint
import EAHCore

/// LLaVA-NeXT (1.6): LLaVA-1.5's CLIP tower, projector and decoder, with "anyres" images: the
/// best `image_grid_pinpoints` resolution, its tiles plus the base image, the tile features
/// cropped to the image's aspect with one `image_newline` per row (`AnyResLayout`). Layouts:
/// llava-hf (`model_type` llava_next), and llama.cpp's text GGUF with its legacy mmproj
/// (`clip.vision.image_grid_pinpoints`), which follows llama.cpp's image layout: the slices
/// row-major, then the overview, no unpad, no newline (`AnyResPacking.llamaCppSlices`); and the
/// original release (`image_aspect_ratio: anyres`, `model.mm_projector.*`, `model.image_newline`,
/// the fine-tuned tower inside the checkpoint), whose CLIP folder (`--vision-tower`) gives the
/// tower's config and preprocessing only.
public enum LlavaNext: ModelFamily {
    public static let name = "llava-next"
    public static let modelTypes: Set<String> = ["llava_next"]

    /// The original release marks NeXT with `image_aspect_ratio: anyres` (OneVision's is anyres_max_N).
    public static func claims(originalConfig: JSONValue) -> Bool {
        if case .string(let ratio)? = originalConfig["image_aspect_ratio"] { return ratio.hasPrefix("anyres") && !ratio.hasPrefix("anyres_max_") }
        return false
    }

    /// The legacy mmproj converter writes `clip.vision.image_grid_pinpoints` for NeXT.
    public static func claims(mmproj metadata: [MetadataEntry]) -> Bool {
        metadata.contains { $0.key == "clip.vision.image_grid_pinpoints" }
    }

    public static func layoutDescription(_ layout: WeightLayout, modelType: String?, metadata: [MetadataEntry]) -> String? {
        let isNext = modelType.map(modelTypes.contains) ?? false
        switch layout {
        case .llavaHF where isNext, .llavaHFCurrent where isNext:
            return layout.rawValue + " (llava-next: base image, tiles cropped to the image's aspect, image_newline after each row)"
        case .llamaCppMMProj where claims(mmproj: metadata):
            return layout.rawValue + " (llava-next: llama.cpp packing, the pinpoint's slices row-major then the overview, without unpad or image_newline)"
        default:
            return nil
        }
    }

    public static func load(_ request: ModelRequest, reader: any CheckpointReader, layout: WeightLayout, pool: ThreadPool) throws(CheckpointError) -> any VisionLanguageModel {
        guard layout == .llavaHF || layout == .llavaHFCurrent || layout == .llamaCppText || layout == .llavaOriginal else {
            throw CheckpointError(path: request.model, problem: ModelProblem.unsupportedLayout(
                "LLaVA-NeXT is read in the llava-hf, original and llama.cpp GGUF layouts; this checkpoint is in the \(layout.rawValue) layout"))
        }
        let naming = layout == .llavaOriginal ? WeightNameTable.originalTowerInside : nil
        return LlavaModel(weights: try LlavaLoader.load(request, reader: reader, layout: layout, family: name, naming: naming), pool: pool)
    }
}
