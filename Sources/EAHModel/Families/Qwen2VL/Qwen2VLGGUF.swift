import EAHCheckpoint
import EAHCore

/// llama.cpp's Qwen2-VL and Qwen2.5-VL files: a text GGUF of architecture `qwen2vl` (M-RoPE
/// sections in `qwen2vl.rope.dimension_sections`, rows in Hugging Face order) and an mmproj of
/// projector type `qwen2vl_merger` or `qwen2.5vl_merger` (RMSNorm, gated MLP, window attention
/// by `clip.vision.n_wa_pattern`; q, k, v split; the Conv3d stored as two temporal halves
/// `v.patch_embd.weight` and `.weight.1`; `v.post_ln` is the merger's `ln_q`, `mm.0`/`mm.2` its
/// linears). The weights are transformers' (F32 here; other stored types decode), so the model
/// is the same; llama.cpp's own image preprocessing (its token clamps) is not reproduced.
extension Qwen2VLLoader {
    /// Loads the text GGUF at `textPath` (its tensors read through `textReader` when given: a
    /// baked bundle's original rows laid over it) and the mmproj at `mmprojPath`.
    public static func load(gguf textPath: String, mmproj mmprojPath: String, textReader: (any CheckpointReader)? = nil) throws(CheckpointError) -> Qwen2VLWeights {
        let gguf = try GGUFReader(path: textPath), mmproj = try GGUFReader(path: mmprojPath)
        let text: any CheckpointReader = textReader ?? gguf
        let config = try ggufConfig(text: gguf, mmproj: mmproj)
        let textSource = TrackingSource(source: TensorSource(text))
        let textWeights = try textWeights(textSource, config.text, .gguf)
        let unexpectedText = text.tensors.map(\.name).filter { !textSource.used.contains($0) }
        if !unexpectedText.isEmpty { throw CheckpointError(path: textPath, problem: ModelProblem.unexpectedTensors(unexpectedText)) }
        let visionSource = TrackingSource(source: TensorSource(mmproj))
        let vision = try ggufVisionWeights(visionSource, config.vision)
        let unexpected = mmproj.tensors.map(\.name).filter { !visionSource.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: mmprojPath, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return Qwen2VLWeights(config: config, vision: vision, text: textWeights, layout: .gguf, source: text)
    }

    /// The configuration from the two files' metadata; the vision token ids from the text
    /// file's vocabulary (`tokenizer.ggml.tokens`).
    static func ggufConfig(text: GGUFReader, mmproj: GGUFReader) throws(CheckpointError) -> Qwen2VLConfig {
        func fail(_ reader: GGUFReader, _ key: String, _ reason: String) -> CheckpointError {
            CheckpointError(path: reader.path, problem: ModelProblem.badConfig(field: key, reason: reason))
        }
        func integer(_ reader: GGUFReader, _ key: String, default fallback: Int? = nil) throws(CheckpointError) -> Int {
            guard let value = reader.metadataValue(key) else {
                if let fallback { return fallback }
                throw fail(reader, key, "is missing")
            }
            guard let number = value.integer, (1...Int(Int32.max)).contains(number) else { throw fail(reader, key, "is not a positive integer") }
            return number
        }
        func float(_ reader: GGUFReader, _ key: String, default fallback: Double) throws(CheckpointError) -> Double {
            switch reader.metadataValue(key) {
            case nil: return fallback
            case .float32(let v)?: return Double(v)
            case .float64(let v)?: return v
            default: throw fail(reader, key, "is not a number")
            }
        }
        let architecture = text.metadataValue("general.architecture")?.string ?? ""
        guard architecture == "qwen2vl" else {
            throw fail(text, "general.architecture", "is '\(TerminalText.escape(architecture))'; a Qwen2-VL text model is 'qwen2vl'")
        }
        let projector = mmproj.metadataValue("clip.projector_type")?.string ?? ""
        let variant: Qwen2VLConfig.Variant
        switch projector {
        case "qwen2vl_merger": variant = .qwen2VL
        case "qwen2.5vl_merger": variant = .qwen25VL
        default:
            throw fail(mmproj, "clip.projector_type", "is '\(TerminalText.escape(projector))'; a Qwen2-VL mmproj is 'qwen2vl_merger', a Qwen2.5-VL one 'qwen2.5vl_merger'")
        }
        let a = "qwen2vl."
        let hidden = try integer(text, a + "embedding_length"), heads = try integer(text, a + "attention.head_count")
        let kvHeads = try integer(text, a + "attention.head_count_kv", default: heads)
        let layers = try integer(text, a + "block_count"), intermediate = try integer(text, a + "feed_forward_length")
        let context = try integer(text, a + "context_length")
        guard hidden % heads == 0, heads % kvHeads == 0 else { throw fail(text, a + "attention.head_count_kv", "does not divide the heads evenly") }
        let headDim = hidden / heads
        guard case .array(_, let items)? = text.metadataValue(a + "rope.dimension_sections") else {
            throw fail(text, a + "rope.dimension_sections", "is missing or not an array")
        }
        // llama.cpp stores four sections (the fourth, 0 for images, is unused here).
        let sections = items.compactMap(\.integer).prefix(Qwen2VLConfig.positionRows)
        guard sections.count == Qwen2VLConfig.positionRows, sections.reduce(0, +) == headDim / 2 else {
            throw fail(text, a + "rope.dimension_sections", "must start with three sizes summing to head_dim / 2 (\(headDim / 2))")
        }
        guard let embedding = text.tensors.first(where: { $0.name == "token_embd.weight" }), embedding.shape.count == 2 else {
            throw CheckpointError(path: text.path, problem: ModelProblem.missingTensors(["token_embd.weight"]))
        }
        let vocab = embedding.shape[0]
        let spec = DecoderSpec(
            hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, vocabSize: vocab,
            norm: .init(eps: Float(try float(text, a + "attention.layer_norm_rms_epsilon", default: 1e-6))),
            attention: .init(headCount: heads, kvHeadCount: kvHeads, headDim: headDim, queryBias: true, keyBias: true, valueBias: true,
                             outputBias: false, scale: 1 / Float(headDim).squareRoot()),
            masks: [DecoderSpec.Mask](repeating: .causal, count: layers),
            rope: .init(parameters: RopeParameters(theta: try float(text, a + "rope.freq_base", default: 1_000_000)), style: .rotateHalf,
                        maxPositionEmbeddings: context, sections: Array(sections)),
            mlp: .init(gated: true, activation: .silu, bias: false), embeddingMultiplier: 1,
            tiedHead: !text.tensors.contains { $0.name == "output.weight" })
        let v = "clip.vision."
        let activation: Activation = mmproj.metadataValue("clip.use_silu") == .bool(true) ? .silu
            : mmproj.metadataValue("clip.use_gelu") == .bool(true) ? .gelu : .quickGELU
        let visionLayers = try integer(mmproj, v + "block_count")
        // Qwen2.5-VL: llama.cpp's window attention, as clip.cpp runs it: windows of
        // `clip.vision.window_size` pixels (112, every released model's, when the key is absent, as
        // convert_hf_to_gguf leaves it) and full attention in every n_wa_pattern-th block.
        var windowSize: Int?, fullAttention: Set<Int> = []
        if variant == .qwen25VL {
            windowSize = try integer(mmproj, v + "window_size", default: 112)
            let pattern = try integer(mmproj, v + "n_wa_pattern")
            fullAttention = Set((0..<visionLayers).filter { ($0 + 1) % pattern == 0 })
        }
        let vision = RotaryViTSpec(
            hiddenSize: try integer(mmproj, v + "embedding_length"), headCount: try integer(mmproj, v + "attention.head_count"),
            intermediateSize: try integer(mmproj, v + "feed_forward_length"), layerCount: visionLayers,
            patchSize: try integer(mmproj, v + "patch_size"), temporalPatchSize: 2, mergeSize: 2,
            norm: variant == .qwen25VL ? .rmsNorm : .layerNorm,
            normEps: Float(try float(mmproj, v + "attention.layer_norm_epsilon", default: 1e-6)),
            mlp: variant == .qwen25VL ? .gated(activation) : .plain(activation),
            windowSize: windowSize, fullAttentionLayers: fullAttention, outputSize: try integer(mmproj, v + "projection_dim"))
        guard vision.outputSize == hidden else { throw fail(mmproj, v + "projection_dim", "(\(vision.outputSize)) must equal the text model's embedding_length (\(hidden))") }
        guard vision.hiddenSize % vision.headCount == 0, vision.headDim % 4 == 0 else {
            throw fail(mmproj, v + "attention.head_count", "must divide the width into heads whose size is a multiple of 4 (2D RoPE)")
        }
        var tokens: [String: Int] = [:]
        if case .array(_, let vocabulary)? = text.metadataValue("tokenizer.ggml.tokens") {
            for (id, token) in vocabulary.enumerated() {
                if let piece = token.string, ["<|image_pad|>", "<|vision_start|>", "<|vision_end|>"].contains(piece) { tokens[piece] = id }
            }
        }
        guard let pad = tokens["<|image_pad|>"], let start = tokens["<|vision_start|>"], let end = tokens["<|vision_end|>"] else {
            throw fail(text, "tokenizer.ggml.tokens", "lacks <|image_pad|>, <|vision_start|> or <|vision_end|>")
        }
        let eos = text.metadataValue("tokenizer.ggml.eos_token_id")?.integer.map { [$0] } ?? [151645]
        return Qwen2VLConfig(variant: variant, text: spec, vision: vision, imageTokenID: pad, visionStartTokenID: start, visionEndTokenID: end,
                             eosTokenIDs: eos)
    }

    /// The mmproj's tower: q, k, v fused back into qkv rows, the two Conv3d halves interleaved
    /// back into the `(channel, temporal, y, x)` kernel.
    static func ggufVisionWeights(_ s: TrackingSource, _ spec: RotaryViTSpec) throws(CheckpointError) -> RotaryViTWeights {
        let hidden = spec.hiddenSize, layerNorm = spec.norm == .layerNorm
        func fused(_ n: Int, _ suffix: String) throws(CheckpointError) -> [Float] {
            var values: [Float] = []
            for part in ["attn_q", "attn_k", "attn_v"] {
                values += try s.vector("v.blk.\(n).\(part).\(suffix)", shape: suffix == "weight" ? [hidden, hidden] : [hidden])
            }
            return values
        }
        var layers: [RotaryViTLayerWeights] = []
        for n in 0..<spec.layerCount {
            let l = "v.blk.\(n)."
            var gate: LinearWeights?
            if case .gated = spec.mlp { gate = try s.linear(l + "ffn_gate", rows: spec.intermediateSize, columns: hidden, bias: true) }
            layers.append(RotaryViTLayerWeights(
                norm1: try s.norm(l + "ln1", width: hidden, bias: layerNorm),
                qkv: LinearWeights(weight: WeightMatrix(rows: 3 * hidden, columns: hidden, values: try fused(n, "weight")), bias: try fused(n, "bias")),
                projection: try s.linear(l + "attn_out", rows: hidden, columns: hidden, bias: true),
                norm2: try s.norm(l + "ln2", width: hidden, bias: layerNorm),
                up: try s.linear(l + "ffn_up", rows: spec.intermediateSize, columns: hidden, bias: true), gate: gate,
                down: try s.linear(l + "ffn_down", rows: hidden, columns: spec.intermediateSize, bias: true)))
        }
        let half = [hidden, spec.channelCount, spec.patchSize, spec.patchSize]
        let frames = [try s.vector("v.patch_embd.weight", shape: half), try s.vector("v.patch_embd.weight.1", shape: half)]
        let plane = spec.patchSize * spec.patchSize
        var kernel = [Float](repeating: 0, count: hidden * spec.patchLength)
        for o in 0..<hidden {
            for c in 0..<spec.channelCount {
                for (t, frame) in frames.enumerated() {
                    let from = (o * spec.channelCount + c) * plane, to = ((o * spec.channelCount + c) * 2 + t) * plane
                    for i in 0..<plane { kernel[to + i] = frame[from + i] }
                }
            }
        }
        return RotaryViTWeights(
            patchEmbedding: WeightMatrix(rows: hidden, columns: spec.patchLength, values: kernel), layers: layers,
            mergerNorm: try s.norm("v.post_ln", width: hidden, bias: layerNorm),
            mergerLinear1: try s.linear("mm.0", rows: spec.mergedWidth, columns: spec.mergedWidth, bias: true),
            mergerLinear2: try s.linear("mm.2", rows: spec.outputSize, columns: spec.mergedWidth, bias: true))
    }
}
