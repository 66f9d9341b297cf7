/// Which naming convention a checkpoint's tensors follow, told from the names and metadata.
///
/// The runtime loads each layout through its own name table; `inspect` reports it so users
/// see at once what they hold.
public enum WeightLayout: String, Sendable, Equatable, CaseIterable {
    /// llava-hf as long written: `language_model.model.*`, `vision_tower.vision_model.*`, `multi_modal_projector.*`.
    case llavaHF = "llava-hf"
    /// llava-hf as current transformers writes it: `model.language_model.*`, `model.vision_tower.*`, `lm_head.*`.
    case llavaHFCurrent = "llava-hf-current"
    /// The original LLaVA release: `model.layers.*` with `model.mm_projector.*`.
    case llavaOriginal = "llava-original"
    /// A llama.cpp text-model GGUF: `token_embd`, `blk.N.*`.
    case llamaCppText = "llama.cpp-text"
    /// A llama.cpp mmproj GGUF (`clip` architecture): `v.blk.N.*`, `mm.N.*`.
    case llamaCppMMProj = "llama.cpp-mmproj"
    /// A Hugging Face CLIP vision tower on its own: `vision_model.*`.
    case clipVision = "clip-vision"
    /// A plain Hugging Face LLaMA: `model.layers.*`, `lm_head`.
    case llama = "llama"
    case unknown = "unknown"

    /// Detects the layout of a checkpoint.
    public static func detect(_ reader: any CheckpointReader) -> WeightLayout {
        detect(names: reader.tensors.map(\.name), architecture: reader.metadataValue("general.architecture")?.string)
    }

    /// Detects the layout from tensor names and, for GGUF, `general.architecture`.
    public static func detect(names: [String], architecture: String?) -> WeightLayout {
        func any(_ prefix: String) -> Bool { names.contains { $0.hasPrefix(prefix) } }
        if architecture == "clip" || any("v.blk.") || any("mm.0.") { return .llamaCppMMProj }
        if any("blk.") || any("token_embd.") { return .llamaCppText }
        if any("language_model.model.") || any("multi_modal_projector.") && any("vision_tower.vision_model.") { return .llavaHF }
        if any("model.language_model.") || any("model.multi_modal_projector.") { return .llavaHFCurrent }
        if any("model.mm_projector.") { return .llavaOriginal }
        if any("vision_model.encoder.") { return .clipVision }
        if any("model.layers.") { return .llama }
        return .unknown
    }
}
