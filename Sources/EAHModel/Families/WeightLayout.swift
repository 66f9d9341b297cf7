import EAHCheckpoint

/// Which naming convention a checkpoint's tensors follow, told from the names and metadata.
///
/// A layout is a property of the source runtime (transformers, the original release, llama.cpp),
/// shared by the families that runtime writes the same way; `inspect` reports it.
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
    /// Qwen2-VL / Qwen2.5-VL as the hub holds them: `model.*`, `visual.*`, `lm_head` (`Qwen2VLLayout.hub`).
    case qwen2VLHF = "qwen2-vl-hf"
    /// Qwen2-VL / Qwen2.5-VL as transformers 5 holds them: `model.language_model.*`, `model.visual.*` (`Qwen2VLLayout.inMemory`).
    case qwen2VLHFCurrent = "qwen2-vl-hf-current"
    /// A plain Hugging Face LLaMA: `model.layers.*`, `lm_head`.
    case llama = "llama"
    case unknown = "unknown"

    /// How each layout is recognised, tried in order (first match wins): the GGUF
    /// `general.architecture`, or any of the name groups (each group: every pattern matches some
    /// tensor).
    static let signatures: [(layout: WeightLayout, architecture: String?, anyOf: [[NamePattern]])] = [
        (.llamaCppMMProj, "clip", [[.prefix("v.blk.")], [.prefix("mm.0.")]]),
        (.llamaCppText, nil, [[.prefix("blk.")], [.prefix("token_embd.")]]),
        (.qwen2VLHF, nil, [[.prefix("visual.patch_embed.")]]),
        (.qwen2VLHFCurrent, nil, [[.prefix("model.visual.patch_embed.")]]),
        (.llavaHF, nil, [[.prefix("language_model.model.")], [.prefix("multi_modal_projector."), .prefix("vision_tower.vision_model.")]]),
        (.llavaHFCurrent, nil, [[.prefix("model.language_model.")], [.prefix("model.multi_modal_projector.")]]),
        (.llavaOriginal, nil, [[.prefix("model.mm_projector.")]]),
        (.clipVision, nil, [[.prefix("vision_model.encoder.")]]),
        (.llama, nil, [[.prefix("model.layers.")]]),
    ]

    /// Detects the layout of a checkpoint.
    public static func detect(_ reader: any CheckpointReader) -> WeightLayout {
        detect(names: reader.tensors.map(\.name), architecture: reader.metadataValue("general.architecture")?.string)
    }

    /// Detects the layout from tensor names and, for GGUF, `general.architecture`.
    public static func detect(names: [String], architecture: String?) -> WeightLayout {
        for signature in signatures {
            if let wanted = signature.architecture, architecture == wanted { return signature.layout }
            if signature.anyOf.contains(where: { group in group.allSatisfy { pattern in names.contains(where: pattern.matches) } }) {
                return signature.layout
            }
        }
        return .unknown
    }
}

/// A rule on tensor names, for detection and the tensors a layout may hold unused.
public enum NamePattern: Sendable, Equatable {
    case prefix(String)
    case suffix(String)
    case exact(String)
    /// Starts with the prefix, but not with the prefix followed by any of `except`.
    case prefixExcept(String, except: [String])

    public func matches(_ name: String) -> Bool {
        switch self {
        case .prefix(let prefix): name.hasPrefix(prefix)
        case .suffix(let suffix): name.hasSuffix(suffix)
        case .exact(let exact): name == exact
        case .prefixExcept(let prefix, let except): name.hasPrefix(prefix) && !except.contains { name.hasPrefix(prefix + $0) }
        }
    }
}
