import EAHCheckpoint

/// A Qwen2-VL or Qwen2.5-VL model's configuration: the rotary ViT with its merger, the Qwen2
/// decoder with M-RoPE, and the vision token ids.
public struct Qwen2VLConfig: Sendable, Equatable {
    public enum Variant: String, Sendable, Equatable {
        /// `qwen2_vl`: LayerNorm, quick_gelu MLP, full attention.
        case qwen2VL = "qwen2_vl"
        /// `qwen2_5_vl`: RMSNorm, SwiGLU with biases, window attention.
        case qwen25VL = "qwen2_5_vl"
    }

    public var variant: Variant
    public var text: DecoderSpec
    public var vision: RotaryViTSpec
    /// `<|image_pad|>`: one per merged image feature.
    public var imageTokenID: Int
    public var visionStartTokenID: Int
    public var visionEndTokenID: Int
    public var eosTokenIDs: [Int]

    /// Positions of M-RoPE's rows: time, height, width.
    public static let positionRows = 3
}

/// Reads a transformers `config.json` of Qwen2-VL / Qwen2.5-VL: transformers 5's nested
/// `text_config` or the hub's flat form (text fields at the top level, `rope_scaling` with
/// `type: mrope`). Defaults are the configuration classes' of transformers 5.24.
public enum Qwen2VLConfigReader {
    public static func read(_ json: JSONValue) throws(ModelProblem) -> Qwen2VLConfig {
        typealias R = LlavaConfigReader
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        let type = try R.string(json, "model_type", "") ?? ""
        guard let variant = Qwen2VLConfig.Variant(rawValue: type) else {
            throw .badConfig(field: "model_type", reason: "is '\(TerminalText.escape(type))', expected 'qwen2_vl' or 'qwen2_5_vl'")
        }
        let nested = json["text_config"].flatMap { $0 == .null ? nil : $0 }
        let textJSON = nested ?? json
        let prefix = nested == nil ? "" : "text_config."
        let positive = 1...Int(Int32.max)
        let hidden = try R.int(textJSON, "hidden_size", prefix, default: 8192, range: positive)
        let intermediate = try R.int(textJSON, "intermediate_size", prefix, default: 29568, range: positive)
        let layers = try R.int(textJSON, "num_hidden_layers", prefix, default: 80, range: positive)
        let heads = try R.int(textJSON, "num_attention_heads", prefix, default: 64, range: positive)
        let kvHeads = try R.int(textJSON, "num_key_value_heads", prefix, default: 8, range: positive)
        let vocab = try R.int(textJSON, "vocab_size", prefix, default: 152064, range: positive)
        guard hidden % heads == 0 else { throw .badConfig(field: prefix + "num_attention_heads", reason: "(\(heads)) does not divide hidden_size (\(hidden))") }
        guard heads % kvHeads == 0 else { throw .badConfig(field: prefix + "num_key_value_heads", reason: "(\(kvHeads)) does not divide num_attention_heads (\(heads))") }
        let headDim = hidden / heads
        let eps = try R.double(textJSON, "rms_norm_eps", prefix, default: 1e-5)
        guard eps > 0, eps < 1 else { throw .badConfig(field: prefix + "rms_norm_eps", reason: "(\(eps)) must be in (0, 1)") }
        let maxPositions = try R.int(textJSON, "max_position_embeddings", prefix, default: 32768, range: positive)
        if let act = try R.string(textJSON, "hidden_act", prefix), act != "silu" {
            throw .badConfig(field: prefix + "hidden_act", reason: "is '\(TerminalText.escape(act))'; Qwen2 uses silu")
        }
        let (rope, sections) = try mrope(textJSON, prefix: prefix, maxPositions: maxPositions, headDim: headDim)
        let topTied = try R.bool(json, "tie_word_embeddings", "")
        let textTied = try R.bool(textJSON, "tie_word_embeddings", prefix)
        let tied = topTied ?? textTied ?? false
        let text = DecoderSpec(
            hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, vocabSize: vocab, norm: .init(eps: Float(eps)),
            attention: .init(headCount: heads, kvHeadCount: kvHeads, headDim: headDim, queryBias: true, keyBias: true, valueBias: true,
                             outputBias: false, scale: 1 / Float(headDim).squareRoot()),
            masks: [DecoderSpec.Mask](repeating: .causal, count: layers),
            rope: .init(parameters: rope, style: .rotateHalf, maxPositionEmbeddings: maxPositions, sections: sections),
            mlp: .init(gated: true, activation: .silu, bias: false), embeddingMultiplier: 1, tiedHead: tied)
        let vision = try visionSpec(json["vision_config"] ?? .object([]), variant: variant, textHidden: hidden)
        func id(_ key: String, _ fallback: Int) throws(ModelProblem) -> Int {
            try R.int(json, key, "", default: fallback, range: 0...(vocab - 1))
        }
        var eos = [151645]
        if json["eos_token_id"] != nil {
            eos = try R.eosTokenIDs(json, "")
        } else if textJSON["eos_token_id"] != nil {
            eos = try R.eosTokenIDs(textJSON, prefix)
        }
        return Qwen2VLConfig(variant: variant, text: text, vision: vision, imageTokenID: try id("image_token_id", 151655),
                             visionStartTokenID: try id("vision_start_token_id", 151652), visionEndTokenID: try id("vision_end_token_id", 151653),
                             eosTokenIDs: eos)
    }

    /// θ and `mrope_section` from `rope_parameters` (transformers 5) or `rope_scaling` (hub:
    /// `{"type": "mrope", "mrope_section": [...]}` with `rope_theta` beside it).
    static func mrope(_ json: JSONValue, prefix: String, maxPositions: Int, headDim: Int) throws(ModelProblem) -> (RopeParameters, [Int]) {
        var cleaned = json
        var sectionsValue: JSONValue? = nil
        var field = prefix + "rope_parameters.mrope_section"
        if case .object(var members) = json {
            for (index, member) in members.enumerated() where ["rope_parameters", "rope_scaling"].contains(member.0) {
                guard case .object(var inner) = member.1 else { continue }
                if let section = inner.first(where: { $0.0 == "mrope_section" })?.1 {
                    sectionsValue = section
                    field = prefix + member.0 + ".mrope_section"
                }
                inner.removeAll { $0.0 == "mrope_section" || (["type", "rope_type"].contains($0.0) && $0.1 == .string("mrope")) }
                members[index].1 = .object(inner)
            }
            cleaned = .object(members)
        }
        var parameters = try LlavaConfigReader.ropeParameters(cleaned, prefix: prefix, maxPositionEmbeddings: maxPositions)
        if json["rope_theta"] == nil, json["rope_parameters"]?["rope_theta"] == nil, json["rope_scaling"]?["rope_theta"] == nil {
            parameters.theta = 1_000_000  // Qwen2VLTextConfig's default_theta
        }
        let sections: [Int]
        if let sectionsValue {
            guard case .array(let items) = sectionsValue else { throw .badConfig(field: field, reason: "is not a list of integers") }
            var values: [Int] = []
            for item in items {
                guard case .integer(let value) = item, value >= 0 else { throw .badConfig(field: field, reason: "holds a value that is not a non-negative integer") }
                values.append(value)
            }
            sections = values
        } else {
            sections = [16, 24, 24]
        }
        guard sections.count == Qwen2VLConfig.positionRows, sections.reduce(0, +) == headDim / 2 else {
            throw .badConfig(field: field, reason: "(\(sections)) must be three sizes summing to head_dim / 2 (\(headDim / 2))")
        }
        return (parameters, sections)
    }

    static func visionSpec(_ json: JSONValue, variant: Qwen2VLConfig.Variant, textHidden: Int) throws(ModelProblem) -> RotaryViTSpec {
        typealias R = LlavaConfigReader
        let p = "vision_config.", positive = 1...Int(Int32.max)
        let depth = try R.int(json, "depth", p, default: 32, range: positive)
        let heads = try R.int(json, "num_heads", p, default: 16, range: positive)
        let patch = try R.int(json, "patch_size", p, default: 14, range: positive)
        let temporal = try R.int(json, "temporal_patch_size", p, default: 2, range: positive)
        let merge = try R.int(json, "spatial_merge_size", p, default: 2, range: positive)
        let channels = try R.int(json, "in_channels", p, default: 3, range: positive)
        let theta = try R.double(json["rope_parameters"] ?? .object([]), "rope_theta", p + "rope_parameters.", default: 10000)
        let spec: RotaryViTSpec
        switch variant {
        case .qwen2VL:
            let embed = try R.int(json, "embed_dim", p, default: 1280, range: positive)
            let ratio = try R.double(json, "mlp_ratio", p, default: 4)
            let act = try R.activation(json, "hidden_act", p, default: .quickGELU)
            let output = try R.int(json, "hidden_size", p, default: 3584, range: positive)
            guard output == textHidden else {
                throw .badConfig(field: p + "hidden_size", reason: "(\(output)) must equal the text hidden_size (\(textHidden)): it is the merger's output")
            }
            spec = RotaryViTSpec(hiddenSize: embed, headCount: heads, intermediateSize: Int(Double(embed) * ratio), layerCount: depth,
                                 channelCount: channels, patchSize: patch, temporalPatchSize: temporal, mergeSize: merge, norm: .layerNorm,
                                 mlp: .plain(act), ropeTheta: theta, outputSize: output)
        case .qwen25VL:
            let hidden = try R.int(json, "hidden_size", p, default: 3584, range: positive)
            let intermediate = try R.int(json, "intermediate_size", p, default: 3420, range: positive)
            let act = try R.activation(json, "hidden_act", p, default: .silu)
            let output = try R.int(json, "out_hidden_size", p, default: 3584, range: positive)
            guard output == textHidden else {
                throw .badConfig(field: p + "out_hidden_size", reason: "(\(output)) must equal the text hidden_size (\(textHidden)): it is the merger's output")
            }
            let window = try R.int(json, "window_size", p, default: 112, range: positive)
            var full: Set<Int> = [7, 15, 23, 31]
            if let value = json["fullatt_block_indexes"] {
                guard case .array(let items) = value else { throw .badConfig(field: p + "fullatt_block_indexes", reason: "is not a list of integers") }
                full = []
                for item in items {
                    guard case .integer(let index) = item, (0..<depth).contains(index) else {
                        throw .badConfig(field: p + "fullatt_block_indexes", reason: "holds a value outside 0..<\(depth)")
                    }
                    full.insert(index)
                }
            }
            spec = RotaryViTSpec(hiddenSize: hidden, headCount: heads, intermediateSize: intermediate, layerCount: depth, channelCount: channels,
                                 patchSize: patch, temporalPatchSize: temporal, mergeSize: merge, norm: .rmsNorm, mlp: .gated(act),
                                 ropeTheta: theta, windowSize: window, fullAttentionLayers: full, outputSize: output)
        }
        guard spec.hiddenSize % spec.headCount == 0, spec.headDim % 4 == 0 else {
            throw .badConfig(field: p + "num_heads", reason: "must divide the vision width into heads whose size is a multiple of 4 (2D RoPE)")
        }
        return spec
    }
}
