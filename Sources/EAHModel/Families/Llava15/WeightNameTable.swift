/// The one table from canonical weight roles to tensor names in every supported layout.
///
/// | role | llava-hf (suffix after the part's prefix) | original LLaVA | GGUF |
/// |---|---|---|---|
/// | tokenEmbedding | `embed_tokens` | `model.embed_tokens` | `token_embd` |
/// | textNorm | `norm` | `model.norm` | `output_norm` |
/// | lmHead | (the lm_head name) | `lm_head` | `output` (absent when tied) |
/// | inputNorm … down | `layers.N.input_layernorm`, `layers.N.self_attn.{q,k,v,o}_proj`, `layers.N.post_attention_layernorm`, `layers.N.mlp.{gate,up,down}_proj` | same under `model.` | `blk.N.attn_norm`, `blk.N.attn_{q,k,v,output}`, `blk.N.ffn_norm`, `blk.N.ffn_{gate,up,down}` |
/// | classEmbedding | `embeddings.class_embedding` (no suffix) | CLIP folder | `v.class_embd` (no suffix) |
/// | patch / position embedding | `embeddings.{patch,position}_embedding` | CLIP folder | `v.{patch,position}_embd` |
/// | pre / post LayerNorm | `pre_layrnorm` (sic), `post_layernorm` | CLIP folder | `v.pre_ln`, `v.post_ln` |
/// | vision layer N | `encoder.layers.N.{layer_norm1,self_attn.{q,k,v,out}_proj,layer_norm2,mlp.fc1,mlp.fc2}` | CLIP folder | `v.blk.N.{ln1,attn_q,attn_k,attn_v,attn_out,ln2,ffn_down,ffn_up}` |
/// | projector1 / projector2 | `linear_1`, `linear_2` | `model.mm_projector.0`, `.2` | `mm.0`, `mm.2` |
/// | imageNewline (NeXT, no suffix) | `image_newline` under the scheme's `modelPrefix` | `model.image_newline` | `model.image_newline` (mmproj) |
///
/// Transforms a loader must apply (see `transform(for:in:)`):
/// * GGUF text `attn_q`/`attn_k` rows (weights and biases) are permuted by convert_hf_to_gguf into
///   ggml's interleaved RoPE order; undo with n_head (q) and n_head_kv (k).
/// * mmproj: the legacy converter names fc1 `ffn_down` and fc2 `ffn_up`; like clip.cpp, swap them
///   back when `ffn_down.weight` has n_embd columns (ne[0] == n_embd).
/// * The patch convolution [hidden, channels, p, p] is used as a hidden × (channels·p·p) matrix
///   (same bytes, row-major) in every layout.
public enum WeightNameTable {
    /// One layout's prefixes: a tensor's name is its part's prefix plus the table's suffix plus
    /// `.weight`/`.bias`.
    public struct Scheme: Sendable, Equatable {
        public var textPrefix: String
        /// The full lm_head base name (without `.weight`).
        public var lmHead: String
        public var visionPrefix: String
        public var projectorPrefix: String
        /// `linear_1`/`linear_2` (llava-hf) or `0`/`2` (original LLaVA, GGUF).
        public var sequentialProjector: Bool
        /// GGUF names (`blk.N.*`, `v.blk.N.*`, `mm.N.*`); the prefixes are unused.
        public var isGGUF: Bool
        /// Where model-level tensors such as NeXT's `image_newline` sit (`model.` or nothing).
        public var modelPrefix: String

        public init(textPrefix: String, lmHead: String, visionPrefix: String, projectorPrefix: String, sequentialProjector: Bool = false, isGGUF: Bool = false,
                    modelPrefix: String = "model.") {
            self.modelPrefix = modelPrefix
            self.textPrefix = textPrefix
            self.lmHead = lmHead
            self.visionPrefix = visionPrefix
            self.projectorPrefix = projectorPrefix
            self.sequentialProjector = sequentialProjector
            self.isGGUF = isGGUF
        }
    }

    /// llava-hf as long published: `language_model.model.*`, `language_model.lm_head`, `vision_tower.vision_model.*`.
    public static let llavaHF = Scheme(textPrefix: "language_model.model.", lmHead: "language_model.lm_head",
                                       visionPrefix: "vision_tower.vision_model.", projectorPrefix: "multi_modal_projector.", modelPrefix: "")
    /// What transformers 5.x `save_pretrained` writes: as `llavaHF` but the tower without `vision_model.`.
    public static let llavaHFSaved5 = Scheme(textPrefix: "language_model.model.", lmHead: "language_model.lm_head",
                                             visionPrefix: "vision_tower.", projectorPrefix: "multi_modal_projector.", modelPrefix: "")
    /// transformers 4.52–4.57 names: `model.language_model.*`, `lm_head`, `model.vision_tower.vision_model.*`.
    public static let llavaHFCurrent = Scheme(textPrefix: "model.language_model.", lmHead: "lm_head",
                                              visionPrefix: "model.vision_tower.vision_model.", projectorPrefix: "model.multi_modal_projector.")
    /// transformers 5.x in-memory `state_dict` names: as `llavaHFCurrent` but the tower without `vision_model.`.
    public static let llavaHFInMemory5 = Scheme(textPrefix: "model.language_model.", lmHead: "lm_head",
                                                visionPrefix: "model.vision_tower.", projectorPrefix: "model.multi_modal_projector.")
    /// The original LLaVA release; its tower comes from a CLIP folder (`clipVision` or `clipVisionBare`).
    public static let llavaOriginal = Scheme(textPrefix: "model.", lmHead: "lm_head", visionPrefix: "vision_model.",
                                             projectorPrefix: "model.mm_projector.", sequentialProjector: true)
    /// The original LLaVA-NeXT and lmms-lab OneVision releases (liuhaotian/llava-v1.6-*, lmms-lab/llava-onevision-*):
    /// as `llavaOriginal`, with the fine-tuned tower inside the checkpoint (transformers' convert_llava_next/onevision
    /// scripts strip `model.vision_tower.`).
    public static let llavaOriginalTowerInside = Scheme(textPrefix: "model.", lmHead: "lm_head", visionPrefix: "model.vision_tower.vision_tower.vision_model.",
                                                        projectorPrefix: "model.mm_projector.", sequentialProjector: true)
    /// A CLIP folder as hub repos and transformers 4.x hold it: `vision_model.*`.
    public static let clipVision = Scheme(textPrefix: "", lmHead: "", visionPrefix: "vision_model.", projectorPrefix: "")
    /// A CLIP vision folder as transformers 5.x `CLIPVisionModel.save_pretrained` writes it: no prefix.
    public static let clipVisionBare = Scheme(textPrefix: "", lmHead: "", visionPrefix: "", projectorPrefix: "")
    /// A plain causal LM as transformers saves it (LlamaForCausalLM, MistralForCausalLM,
    /// Qwen2ForCausalLM): `model.*` and `lm_head`, no tower or projector.
    public static let causalLM = Scheme(textPrefix: "model.", lmHead: "lm_head", visionPrefix: "", projectorPrefix: "")
    /// llama.cpp GGUF: text model `token_embd`/`blk.N.*`, mmproj `v.*`/`mm.N.*`.
    public static let gguf = Scheme(textPrefix: "", lmHead: "output", visionPrefix: "v.", projectorPrefix: "mm.", sequentialProjector: true, isGGUF: true)

    /// Hugging Face suffix and GGUF base name of each tensor; `#` stands for the layer index.
    static let rows: [WeightRole.Tensor: (hf: String, gguf: String)] = [
        .tokenEmbedding: ("embed_tokens", "token_embd"),
        .textNorm: ("norm", "output_norm"),
        .lmHead: ("", "output"),
        .inputNorm: ("layers.#.input_layernorm", "blk.#.attn_norm"),
        .query: ("layers.#.self_attn.q_proj", "blk.#.attn_q"),
        .key: ("layers.#.self_attn.k_proj", "blk.#.attn_k"),
        .value: ("layers.#.self_attn.v_proj", "blk.#.attn_v"),
        .output: ("layers.#.self_attn.o_proj", "blk.#.attn_output"),
        .postAttentionNorm: ("layers.#.post_attention_layernorm", "blk.#.ffn_norm"),
        .gate: ("layers.#.mlp.gate_proj", "blk.#.ffn_gate"),
        .up: ("layers.#.mlp.up_proj", "blk.#.ffn_up"),
        .down: ("layers.#.mlp.down_proj", "blk.#.ffn_down"),
        .classEmbedding: ("embeddings.class_embedding", "v.class_embd"),
        .patchEmbedding: ("embeddings.patch_embedding", "v.patch_embd"),
        .positionEmbedding: ("embeddings.position_embedding", "v.position_embd"),
        .preLayerNorm: ("pre_layrnorm", "v.pre_ln"),
        .postLayerNorm: ("post_layernorm", "v.post_ln"),
        .layerNorm1: ("encoder.layers.#.layer_norm1", "v.blk.#.ln1"),
        .visionQuery: ("encoder.layers.#.self_attn.q_proj", "v.blk.#.attn_q"),
        .visionKey: ("encoder.layers.#.self_attn.k_proj", "v.blk.#.attn_k"),
        .visionValue: ("encoder.layers.#.self_attn.v_proj", "v.blk.#.attn_v"),
        .visionOutput: ("encoder.layers.#.self_attn.out_proj", "v.blk.#.attn_out"),
        .layerNorm2: ("encoder.layers.#.layer_norm2", "v.blk.#.ln2"),
        // The legacy mmproj converter's names (backwards; see `transform(for:in:)`).
        .fc1: ("encoder.layers.#.mlp.fc1", "v.blk.#.ffn_down"),
        .fc2: ("encoder.layers.#.mlp.fc2", "v.blk.#.ffn_up"),
        .projector1: ("linear_1", "mm.0"),
        .projector2: ("linear_2", "mm.2"),
        .imageNewline: ("image_newline", "model.image_newline"),
    ]

    // MARK: layouts

    /// The second checkpoint a layout needs: the parts it holds and how they are named.
    public struct Companion: Sendable {
        public enum Kind: Sendable, Equatable {
            /// A CLIP folder (`--vision-tower`).
            case visionTower
            /// A llama.cpp mmproj GGUF (`--mmproj`).
            case mmproj
        }
        public var kind: Kind
        public var schemes: [Scheme]
        public var parts: Set<WeightRole.Part>
        /// What to tell a user who did not pass it.
        public var missingHint: String
    }

    /// Where a layout's configuration comes from.
    public enum ConfigSource: Sendable, Equatable {
        /// llava-hf `config.json`.
        case huggingFace
        /// The original release's `config.json` plus the vision tower folder's.
        case originalWithTower
        /// GGUF metadata of the text model and the mmproj.
        case gguf
    }

    /// Everything the loader needs to know about one layout, as data.
    public struct LayoutNaming: Sendable {
        /// The main checkpoint's schemes, the first whose class embedding (or q_proj) exists wins.
        public var schemes: [Scheme]
        /// The parts the main checkpoint holds.
        public var parts: Set<WeightRole.Part>
        public var companion: Companion?
        public var config: ConfigSource
    }

    /// How the family's layouts are named; layouts absent here are refused with `refusals`.
    public static let layouts: [WeightLayout: LayoutNaming] = [
        .llavaHF: LayoutNaming(schemes: [llavaHF, llavaHFSaved5], parts: [.text, .lmHead, .vision, .projector], companion: nil, config: .huggingFace),
        .llavaHFCurrent: LayoutNaming(schemes: [llavaHFCurrent, llavaHFInMemory5], parts: [.text, .lmHead, .vision, .projector], companion: nil, config: .huggingFace),
        .llavaOriginal: LayoutNaming(
            schemes: [llavaOriginal], parts: [.text, .lmHead, .projector],
            companion: Companion(kind: .visionTower, schemes: [clipVision, clipVisionBare], parts: [.vision],
                                 missingHint: "the original LLaVA layout holds no vision tower: pass --vision-tower with its CLIP folder (config.json names it in mm_vision_tower)"),
            config: .originalWithTower),
        .llamaCppText: LayoutNaming(
            schemes: [gguf], parts: [.text, .lmHead],
            companion: Companion(kind: .mmproj, schemes: [gguf], parts: [.vision, .projector],
                                 missingHint: "a llama.cpp text GGUF holds no vision tower: pass --mmproj with the model's mmproj GGUF"),
            config: .gguf),
    ]

    /// The original release with its tower inside the checkpoint (LLaVA-NeXT, OneVision): every part
    /// from the checkpoint; the tower folder `mm_vision_tower` names (`--vision-tower`) gives only the
    /// tower's config and preprocessing.
    public static let originalTowerInside = LayoutNaming(schemes: [llavaOriginalTowerInside], parts: [.text, .lmHead, .vision, .projector],
                                                         companion: nil, config: .originalWithTower)

    /// Why a layout that is not a whole model cannot be loaded.
    public static let refusals: [WeightLayout: String] = [
        .llamaCppMMProj: "this is an mmproj GGUF (vision tower and projector only): pass the text GGUF as the model and this file as --mmproj",
        .clipVision: "this is a CLIP vision tower on its own, not a LLaVA model",
        .llama: "this is a plain LLaMA checkpoint without a LLaVA projector",
        .unknown: "the tensor names match no LLaVA layout",
    ]

    /// Tensors any layout may hold without use: buffers transformers saves (`position_ids`,
    /// `rotary_emb.inv_freq`), llama.cpp's `rope_freqs` (frequencies come from the config), the
    /// fine-tuned tower an original LLaVA checkpoint carries besides its CLIP folder, and the text
    /// half of a whole-CLIP folder.
    public static let ignorable: [NamePattern] = [
        .suffix("position_ids"), .suffix("rotary_emb.inv_freq"), .exact("rope_freqs.weight"),
        .prefixExcept("model.vision_tower.", except: ["embeddings.", "encoder.", "pre_layrnorm.", "post_layernorm."]),
        .prefix("text_model."), .exact("logit_scale"), .exact("text_projection.weight"), .exact("visual_projection.weight"),
    ]

    /// Whether a present tensor may be left unused.
    public static func isIgnorable(_ name: String) -> Bool {
        ignorable.contains { $0.matches(name) }
    }

    /// The tensors `--bake` rewrites in a decoder layer: q_proj rows per query head and k_proj
    /// rows per KV head, weights and biases (absent ones are skipped by the writer).
    public static func bakeTargets(layer: Int) -> [(role: WeightRole, perKVHead: Bool)] {
        [(WeightRole(.query, layer: layer), false), (WeightRole(.query, layer: layer, bias: true), false),
         (WeightRole(.key, layer: layer), true), (WeightRole(.key, layer: layer, bias: true), true)]
    }

    /// What a loader must do to a tensor beyond reading it.
    public enum Transform: Sendable, Equatable {
        case none
        /// Undo convert_hf_to_gguf's RoPE row permutation with this many heads.
        case unpermuteRows(heads: Int)
        /// fc1/fc2 named backwards by the legacy mmproj converter: swap when `ffn_down.weight`
        /// has n_embd columns.
        case swapFFNIfDownHasHiddenColumns
        /// A [hidden, channels, p, p] convolution read as a hidden × (channels·p·p) matrix.
        case flattenConvolution
    }

    /// The tensor name of `role` in `scheme`.
    public static func name(_ role: WeightRole, in scheme: Scheme) -> String {
        let tensor = role.tensor
        let row = rows[tensor] ?? ("", "")
        var base = scheme.isGGUF ? row.gguf : row.hf
        if let layer = role.layer { base = base.split(separator: "#", omittingEmptySubsequences: false).joined(separator: String(layer)) }
        if !scheme.isGGUF {
            switch tensor.part {
            case .text: base = scheme.textPrefix + base
            case .lmHead: base = scheme.lmHead
            case .vision: base = scheme.visionPrefix + base
            case .projector where tensor == .imageNewline:
                base = scheme.modelPrefix + base
            case .projector:
                base = scheme.projectorPrefix + (scheme.sequentialProjector ? (tensor == .projector1 ? "0" : "2") : base)
            }
        }
        if tensor == .classEmbedding || tensor == .imageNewline { return base }
        return base + (role.isBias ? ".bias" : ".weight")
    }

    /// The transform `role` needs in `scheme` for a text model with `headCount` / `kvHeadCount` heads.
    public static func transform(for role: WeightRole, in scheme: Scheme, headCount: Int, kvHeadCount: Int) -> Transform {
        switch role.tensor {
        case .patchEmbedding: return .flattenConvolution
        case .query where scheme.isGGUF: return .unpermuteRows(heads: headCount)
        case .key where scheme.isGGUF: return .unpermuteRows(heads: kvHeadCount)
        case .fc1 where scheme.isGGUF, .fc2 where scheme.isGGUF: return .swapFFNIfDownHasHiddenColumns
        default: return .none
        }
    }
}
