import EAHCheckpoint
import EAHCore

/// llama.cpp's names for Gemma 3 (`convert_hf_to_gguf.py`'s `Gemma3Model` and, with `--mmproj`,
/// `Gemma3VisionModel`; gguf-py's tensor map): data read both ways, to load a llama.cpp pair and
/// to write one. Keys are transformers names relative to their part (the text model, the SigLIP
/// tower, the projector), without `.weight`/`.bias`; layer keys start with `layers.N.` (text) or
/// `encoder.layers.N.` (tower).
public enum Gemma3LlamaCppNames {
    public enum Part: Sendable { case text, vision, projector }

    /// One tensor: the transformers key, llama.cpp's name, and whether llama.cpp stores the
    /// weight as w + 1 (Gemma's RMSNorms: every text norm and the soft-embedding norm; SigLIP's
    /// LayerNorms are stored as they are).
    public struct Entry: Sendable {
        public var key: String
        public var name: String
        public var plusOne: Bool
    }

    static let textLayer: [Entry] = [
        Entry(key: "input_layernorm", name: "attn_norm", plusOne: true),
        Entry(key: "self_attn.q_proj", name: "attn_q", plusOne: false),
        Entry(key: "self_attn.k_proj", name: "attn_k", plusOne: false),
        Entry(key: "self_attn.v_proj", name: "attn_v", plusOne: false),
        Entry(key: "self_attn.o_proj", name: "attn_output", plusOne: false),
        Entry(key: "self_attn.q_norm", name: "attn_q_norm", plusOne: true),
        Entry(key: "self_attn.k_norm", name: "attn_k_norm", plusOne: true),
        Entry(key: "post_attention_layernorm", name: "post_attention_norm", plusOne: true),
        Entry(key: "pre_feedforward_layernorm", name: "ffn_norm", plusOne: true),
        Entry(key: "post_feedforward_layernorm", name: "post_ffw_norm", plusOne: true),
        Entry(key: "mlp.gate_proj", name: "ffn_gate", plusOne: false),
        Entry(key: "mlp.up_proj", name: "ffn_up", plusOne: false),
        Entry(key: "mlp.down_proj", name: "ffn_down", plusOne: false),
    ]
    static let text: [Entry] = [
        Entry(key: "embed_tokens", name: "token_embd", plusOne: false),
        Entry(key: "norm", name: "output_norm", plusOne: true),
    ]
    static let visionLayer: [Entry] = [
        Entry(key: "layer_norm1", name: "ln1", plusOne: false),
        Entry(key: "self_attn.q_proj", name: "attn_q", plusOne: false),
        Entry(key: "self_attn.k_proj", name: "attn_k", plusOne: false),
        Entry(key: "self_attn.v_proj", name: "attn_v", plusOne: false),
        Entry(key: "self_attn.out_proj", name: "attn_out", plusOne: false),
        Entry(key: "layer_norm2", name: "ln2", plusOne: false),
        Entry(key: "mlp.fc1", name: "ffn_up", plusOne: false),
        Entry(key: "mlp.fc2", name: "ffn_down", plusOne: false),
    ]
    static let vision: [Entry] = [
        Entry(key: "embeddings.patch_embedding", name: "v.patch_embd", plusOne: false),
        Entry(key: "embeddings.position_embedding", name: "v.position_embd", plusOne: false),
        Entry(key: "post_layernorm", name: "v.post_ln", plusOne: false),
    ]
    /// transformers stores the projection as a bare parameter (`mm_input_projection_weight`).
    static let projector: [Entry] = [
        Entry(key: "mm_input_projection_weight", name: "mm.input_projection.weight", plusOne: false),
        Entry(key: "mm_soft_emb_norm", name: "mm.soft_emb_norm", plusOne: true),
    ]

    /// llama.cpp's name and w+1 flag for a transformers key (with or without `.weight`/`.bias`)
    /// of `part`; nil when llama.cpp has no such tensor (SigLIP's unused pooling head).
    public static func entry(_ part: Part, _ key: String) -> Entry? {
        var base = key[...], suffix = ""
        for ending in [".weight", ".bias"] where key.hasSuffix(ending) && !key.hasSuffix("_weight") {
            base = key.dropLast(ending.count)
            suffix = ending
        }
        let (layerPrefix, layerTable, outPrefix, globals): (String, [Entry], String, [Entry]) = switch part {
        case .text: ("layers.", textLayer, "blk.", text)
        case .vision: ("encoder.layers.", visionLayer, "v.blk.", vision)
        case .projector: ("", [], "", projector)
        }
        if !layerPrefix.isEmpty, base.hasPrefix(layerPrefix) {
            let rest = base.dropFirst(layerPrefix.count)
            guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else { return nil }
            let inner = rest[rest.index(after: dot)...]
            guard let found = layerTable.first(where: { $0.key == inner }) else { return nil }
            return Entry(key: key, name: outPrefix + "\(layer)." + found.name + suffix, plusOne: found.plusOne && suffix == ".weight")
        }
        guard let found = globals.first(where: { $0.key == base }) else { return nil }
        return Entry(key: key, name: found.name + suffix, plusOne: found.plusOne && suffix == ".weight")
    }

    /// llama.cpp's name for a transformers key (`entry(part, key).name`), or the key itself when
    /// llama.cpp has none (so a lookup reports it missing by a recognisable name).
    static func name(_ part: Part, _ key: String) -> String { entry(part, key)?.name ?? key }
}

extension Gemma3LlamaCppNames {
    /// The configuration of a llama.cpp pair: the text GGUF's `gemma3.*` keys and the mmproj's
    /// `clip.*` keys, as llama.cpp reads them. What a GGUF does not say follows llama.cpp: every
    /// sixth layer global unless `gemma3.attention.sliding_window_pattern` says otherwise,
    /// queries scaled by 1/√head_dim (1/√(hidden/heads) for the 62-layer 27B), the pooled grid
    /// `patches per side / clip.vision.projector.scale_factor` (default 4). The vocabulary is the
    /// embedding's rows; the image tokens are found by name in `tokenizer.ggml.tokens`.
    static func config(text: any CheckpointReader, mmproj: any CheckpointReader) throws(CheckpointError) -> Gemma3Config {
        typealias R = LlavaConfigReader
        let t = text.metadata, m = mmproj.metadata
        func onText<T>(_ body: () throws(ModelProblem) -> T) throws(CheckpointError) -> T {
            do throws(ModelProblem) { return try body() } catch { throw CheckpointError(path: text.path, problem: error) }
        }
        func onMMProj<T>(_ body: () throws(ModelProblem) -> T) throws(CheckpointError) -> T {
            do throws(ModelProblem) { return try body() } catch { throw CheckpointError(path: mmproj.path, problem: error) }
        }
        let architecture = R.metaValue(t, "general.architecture")?.string ?? ""
        guard architecture == "gemma3" else {
            throw CheckpointError(path: text.path, problem: ModelProblem.badConfig(
                field: "general.architecture", reason: "is '\(TerminalText.escape(architecture))'; a Gemma 3 text model is 'gemma3'"))
        }
        let projector = R.metaValue(m, "clip.projector_type")?.string ?? ""
        guard projector == "gemma3" else {
            throw CheckpointError(path: mmproj.path, problem: ModelProblem.badConfig(
                field: "clip.projector_type", reason: "is '\(TerminalText.escape(projector))'; a Gemma 3 mmproj is 'gemma3'"))
        }
        guard let embedding = text.tensor(named: "token_embd.weight"), embedding.shape.count == 2 else {
            throw CheckpointError(path: text.path, problem: ModelProblem.missingTensors(["token_embd.weight"]))
        }
        let spec = try onText { () throws(ModelProblem) in
            try textSpec(t, vocab: embedding.shape[0], tied: text.tensor(named: "output.weight") == nil)
        }
        let v = "clip.vision."
        let vision = try onMMProj { () throws(ModelProblem) in
            CLIPVisionConfig(
                hiddenSize: try R.metaInteger(m, v + "embedding_length"), intermediateSize: try R.metaInteger(m, v + "feed_forward_length"),
                layerCount: try R.metaInteger(m, v + "block_count", range: 1...4096), headCount: try R.metaInteger(m, v + "attention.head_count"),
                imageSize: try R.metaInteger(m, v + "image_size", range: 1...65536), patchSize: try R.metaInteger(m, v + "patch_size", range: 1...65536),
                layerNormEps: Float(try R.metaFloat(m, v + "attention.layer_norm_epsilon", default: 1e-6)),
                // ggml's GELU is the tanh approximation, SigLIP's gelu_pytorch_tanh.
                hiddenAct: .geluTanh, architecture: .siglip)
        }
        let tokens = try onMMProj { () throws(ModelProblem) -> Int in
            guard vision.hiddenSize % vision.headCount == 0, vision.imageSize % vision.patchSize == 0 else {
                throw .badConfig(field: v + "attention.head_count", reason: "and the patch size must divide the width and the image evenly")
            }
            let projection = try R.metaInteger(m, v + "projection_dim")
            guard projection == spec.hiddenSize else {
                throw .badConfig(field: v + "projection_dim", reason: "(\(projection)) must equal the text model's embedding_length (\(spec.hiddenSize))")
            }
            let scale = try R.metaInteger(m, v + "projector.scale_factor", default: 4)
            guard vision.patchesPerSide % scale == 0 else {
                throw .badConfig(field: v + "projector.scale_factor", reason: "(\(scale)) must divide the \(vision.patchesPerSide) patches per image side")
            }
            let side = vision.patchesPerSide / scale
            return side * side
        }
        var ids: [String: Int] = [:]
        if case .array(_, let vocabulary)? = R.metaValue(t, "tokenizer.ggml.tokens") {
            let wanted: Set<String> = ["<image_soft_token>", "<start_of_image>", "<end_of_image>"]
            for (id, token) in vocabulary.enumerated() where id < spec.vocabSize {
                if let piece = token.string, wanted.contains(piece), ids[piece] == nil { ids[piece] = id }
            }
        }
        guard let soft = ids["<image_soft_token>"], let boi = ids["<start_of_image>"], let eoi = ids["<end_of_image>"] else {
            throw CheckpointError(path: text.path, problem: ModelProblem.badConfig(
                field: "tokenizer.ggml.tokens", reason: "lacks <image_soft_token>, <start_of_image> or <end_of_image> within the embedding's rows"))
        }
        let eos = try onText { () throws(ModelProblem) in try R.metaInteger(t, "tokenizer.ggml.eos_token_id", default: 1, range: 0...(spec.vocabSize - 1)) }
        return Gemma3Config(text: spec, vision: vision, tokensPerImage: tokens, imageTokenID: soft, boiTokenID: boi, eoiTokenID: eoi, eosTokenIDs: [eos])
    }

    /// The decoder of a `gemma3` text GGUF, its norms taken as stored (w + 1, so `weightOffset` 0).
    static func textSpec(_ t: [MetadataEntry], vocab: Int, tied: Bool) throws(ModelProblem) -> DecoderSpec {
        typealias R = LlavaConfigReader
        let a = "gemma3."
        let hidden = try R.metaInteger(t, a + "embedding_length"), heads = try R.metaInteger(t, a + "attention.head_count")
        let kvHeads = try R.metaInteger(t, a + "attention.head_count_kv", default: heads)
        guard heads % kvHeads == 0 else { throw .badConfig(field: a + "attention.head_count_kv", reason: "(\(kvHeads)) does not divide head_count (\(heads))") }
        let headDim = try R.metaInteger(t, a + "attention.key_length", default: 256, range: 2...65536)
        guard headDim % 2 == 0 else { throw .badConfig(field: a + "attention.key_length", reason: "(\(headDim)) must be even for RoPE") }
        let layers = try R.metaInteger(t, a + "block_count", range: 1...4096)
        let context = try R.metaInteger(t, a + "context_length", default: 131_072)
        var global = RopeParameters(theta: try R.metaFloat(t, a + "rope.freq_base", default: 1_000_000))
        if let scaling = R.metaValue(t, a + "rope.scaling.type")?.string, scaling != "none" {
            guard scaling == "linear" else { throw .badConfig(field: a + "rope.scaling.type", reason: "'\(TerminalText.escape(scaling))' is not supported (Gemma 3 uses linear)") }
            global.type = .linear
            global.factor = try R.metaFloat(t, a + "rope.scaling.factor", default: 1)
        }
        let local = RopeParameters(theta: try R.metaFloat(t, a + "rope.freq_base_swa", default: 10_000))
        var masks = [DecoderSpec.Mask](repeating: .causal, count: layers)
        if let window = R.metaValue(t, a + "attention.sliding_window")?.integer, window > 0 {
            // llama.cpp's set_swa_pattern: layer i slides when i % n < n - 1; or a per-layer bool array.
            switch R.metaValue(t, a + "attention.sliding_window_pattern") {
            case .array(_, let flags)?:
                guard flags.count == layers else { throw .badConfig(field: a + "attention.sliding_window_pattern", reason: "must hold one flag per layer (\(layers))") }
                masks = flags.map { $0 == .bool(true) ? .slidingWindow(window) : .causal }
            default:
                let n = try R.metaInteger(t, a + "attention.sliding_window_pattern", default: 6, range: 1...4096)
                masks = (0..<layers).map { $0 % n < n - 1 ? .slidingWindow(window) : .causal }
            }
        }
        if R.metaValue(t, a + "final_logit_softcapping") != nil {
            throw .badConfig(field: a + "final_logit_softcapping", reason: "is set; final-logit soft-capping (which Gemma3ForConditionalGeneration never applies) is not supported")
        }
        let scalar = layers == 62 ? Float(hidden / heads) : Float(headDim)
        var spec = DecoderSpec(
            hiddenSize: hidden, intermediateSize: try R.metaInteger(t, a + "feed_forward_length"), layerCount: layers, vocabSize: vocab,
            norm: .init(eps: Float(try R.metaFloat(t, a + "attention.layer_norm_rms_epsilon", default: 1e-6)), weightOffset: 0, sandwich: true),
            attention: .init(headCount: heads, kvHeadCount: kvHeads, headDim: headDim, queryBias: false, keyBias: false, valueBias: false,
                             outputBias: false, scale: 1 / scalar.squareRoot(), queryKeyNorm: true),
            masks: masks,
            rope: .init(parameters: global, style: .rotateHalf, maxPositionEmbeddings: context, slidingParameters: local),
            mlp: .init(gated: true, activation: .geluTanh, bias: false),
            embeddingMultiplier: Float(hidden).squareRoot(), tiedHead: tied)
        spec.bidirectionalImages = true
        return spec
    }
}
