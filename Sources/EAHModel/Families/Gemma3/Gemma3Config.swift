import EAHCheckpoint

/// Gemma 3's hyperparameters: the text decoder as a `DecoderSpec` (sandwich (1+w) RMSNorms,
/// QK-norm, GeGLU, √hidden embeddings, sliding-window and global layers with their own RoPE,
/// bidirectional image blocks), the SigLIP tower, and the projector's pooled token count.
public struct Gemma3Config: Sendable, Equatable {
    public var text: DecoderSpec
    public var vision: CLIPVisionConfig
    /// Image features per image after the average pool (`mm_tokens_per_image`, a square).
    public var tokensPerImage: Int
    /// `<image_soft_token>`, `<start_of_image>`, `<end_of_image>`.
    public var imageTokenID: Int
    public var boiTokenID: Int
    public var eoiTokenID: Int
    public var eosTokenIDs: [Int]

    /// Tokens per side of the pooled grid.
    public var tokensPerSide: Int { Int(Double(tokensPerImage).squareRoot().rounded()) }
    /// The average pool's kernel (and stride): patches per side / tokens per side.
    public var poolKernel: Int { vision.patchesPerSide / tokensPerSide }
}

public enum Gemma3ConfigReader {
    /// Reads a transformers `config.json` of `model_type` `gemma3` (nested `text_config` and
    /// `vision_config`), with Gemma3TextConfig's and Gemma3Config's defaults.
    public static func read(_ json: JSONValue) throws(ModelProblem) -> Gemma3Config {
        typealias R = LlavaConfigReader
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        let textJSON = json["text_config"].flatMap { $0 == .null ? nil : $0 } ?? .object([])
        let text = try textSpec(textJSON, prefix: "text_config.", topTied: try R.bool(json, "tie_word_embeddings", ""))
        let vocab = text.vocabSize
        // The soft-capping fields are checked but not applied: transformers' Gemma 3 attention
        // never passes `attn_logit_softcapping` on, and Gemma3ForConditionalGeneration never
        // applies `final_logit_softcapping` (only the text-only Gemma3ForCausalLM does); released
        // configs leave both null.
        _ = try softcap(textJSON, "attn_logit_softcapping", "text_config.")
        _ = try softcap(textJSON, "final_logit_softcapping", "text_config.")

        let visionJSON = json["vision_config"].flatMap { $0 == .null ? nil : $0 } ?? .object([])
        let vision = try R.visionTower(visionJSON, prefix: "vision_config.", defaultType: "siglip_vision_model",
                                       sizes: (hidden: 1152, intermediate: 4304, layers: 27, heads: 16, image: 896, patch: 14))
        guard vision.architecture == .siglip else {
            throw .badConfig(field: "vision_config.model_type", reason: "must be siglip_vision_model for Gemma 3")
        }
        let tokens = try R.int(json, "mm_tokens_per_image", "", default: 256, range: 1...65536)
        let side = Int(Double(tokens).squareRoot().rounded())
        guard side * side == tokens, vision.patchesPerSide % side == 0 else {
            throw .badConfig(field: "mm_tokens_per_image", reason: "(\(tokens)) must be a square whose side divides the \(vision.patchesPerSide) patches per image side")
        }
        func id(_ key: String, _ fallback: Int) throws(ModelProblem) -> Int {
            try R.int(json, key, "", default: fallback, range: 0...(vocab - 1))
        }
        var eos = [1]
        if json["eos_token_id"] != nil {
            eos = try R.eosTokenIDs(json, "")
        } else if textJSON["eos_token_id"] != nil {
            eos = try R.eosTokenIDs(textJSON, "text_config.")
        }
        return Gemma3Config(text: text, vision: vision, tokensPerImage: tokens, imageTokenID: try id("image_token_index", 262_144),
                            boiTokenID: try id("boi_token_index", 255_999), eoiTokenID: try id("eoi_token_index", 256_000), eosTokenIDs: eos)
    }

    /// The decoder of a Gemma 3 text config (`text_config` of `gemma3`, or a whole `gemma3_text`
    /// config with `prefix` ""), with Gemma3TextConfig's defaults; `topTied` is the outer
    /// config's `tie_word_embeddings`.
    static func textSpec(_ textJSON: JSONValue, prefix: String, topTied: Bool?) throws(ModelProblem) -> DecoderSpec {
        typealias R = LlavaConfigReader
        let p = prefix, positive = 1...Int(Int32.max)
        let hidden = try R.int(textJSON, "hidden_size", p, default: 2304, range: positive)
        let intermediate = try R.int(textJSON, "intermediate_size", p, default: 9216, range: positive)
        let layers = try R.int(textJSON, "num_hidden_layers", p, default: 26, range: 1...4096)
        let heads = try R.int(textJSON, "num_attention_heads", p, default: 8, range: positive)
        let kvHeads = try R.int(textJSON, "num_key_value_heads", p, default: 4, range: positive)
        let headDim = try R.int(textJSON, "head_dim", p, default: 256, range: 2...65536)
        let vocab = try R.int(textJSON, "vocab_size", p, default: 262_208, range: positive)
        guard heads % kvHeads == 0 else { throw .badConfig(field: p + "num_key_value_heads", reason: "(\(kvHeads)) does not divide num_attention_heads (\(heads))") }
        guard headDim % 2 == 0 else { throw .badConfig(field: p + "head_dim", reason: "(\(headDim)) must be even for RoPE") }
        let eps = try R.double(textJSON, "rms_norm_eps", p, default: 1e-6)
        guard eps > 0, eps < 1 else { throw .badConfig(field: p + "rms_norm_eps", reason: "(\(eps)) must be in (0, 1)") }
        let maxPositions = try R.int(textJSON, "max_position_embeddings", p, default: 131_072, range: positive)
        let activation = try R.activation(textJSON, "hidden_activation", p, default: .geluTanh)
        if try R.bool(textJSON, "attention_bias", p) == true {
            throw .badConfig(field: p + "attention_bias", reason: "is true; Gemma 3's attention has no biases")
        }
        if try R.bool(textJSON, "use_bidirectional_attention", p) == true {
            throw .badConfig(field: p + "use_bidirectional_attention", reason: "is true (an embedding model); only the generative Gemma 3 is supported")
        }
        let scalar = try R.double(textJSON, "query_pre_attn_scalar", p, default: 256)
        guard scalar > 0, scalar.isFinite else { throw .badConfig(field: p + "query_pre_attn_scalar", reason: "(\(scalar)) must be positive") }
        let window = try R.int(textJSON, "sliding_window", p, default: 4096, range: positive)
        let masks = try layerMasks(textJSON, layers: layers, window: window)
        let (global, local) = try ropes(textJSON, maxPositions: maxPositions)
        let textTied = try R.bool(textJSON, "tie_word_embeddings", p)
        let tied = topTied ?? textTied ?? true
        var text = DecoderSpec(
            hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, vocabSize: vocab,
            norm: .init(eps: Float(eps), weightOffset: 1, sandwich: true),
            attention: .init(headCount: heads, kvHeadCount: kvHeads, headDim: headDim, queryBias: false, keyBias: false, valueBias: false,
                             outputBias: false, scale: Float(1 / scalar.squareRoot()), queryKeyNorm: true),
            masks: masks,
            rope: .init(parameters: global, style: .rotateHalf, maxPositionEmbeddings: maxPositions, slidingParameters: local),
            mlp: .init(gated: true, activation: activation, bias: false),
            embeddingMultiplier: Float(hidden).squareRoot(), tiedHead: tied)
        text.bidirectionalImages = true
        return text
    }

    /// A soft-capping field: positive or null.
    static func softcap(_ json: JSONValue, _ key: String, _ prefix: String) throws(ModelProblem) -> Float? {
        guard let value = try LlavaConfigReader.optionalDouble(json, key, prefix) else { return nil }
        guard value > 0, value.isFinite else { throw .badConfig(field: prefix + key, reason: "(\(value)) must be positive or null") }
        return Float(value)
    }

    /// One mask per layer from `layer_types` (`sliding_attention` / `full_attention`), else
    /// Gemma 3's pattern: every sixth layer global (`sliding_window_pattern`).
    static func layerMasks(_ json: JSONValue, layers: Int, window: Int) throws(ModelProblem) -> [DecoderSpec.Mask] {
        let field = "text_config.layer_types"
        guard let value = json["layer_types"], value != .null else {
            let pattern = try LlavaConfigReader.int(json, "sliding_window_pattern", "text_config.", default: 6, range: 1...4096)
            return (0..<layers).map { ($0 + 1) % pattern == 0 ? .causal : .slidingWindow(window) }
        }
        guard case .array(let items) = value, items.count == layers else {
            throw .badConfig(field: field, reason: "must list one type per layer (\(layers))")
        }
        var masks: [DecoderSpec.Mask] = []
        for item in items {
            switch item {
            case .string("sliding_attention"): masks.append(.slidingWindow(window))
            case .string("full_attention"): masks.append(.causal)
            default: throw .badConfig(field: field, reason: "holds a type other than sliding_attention and full_attention")
            }
        }
        return masks
    }

    /// The global and sliding-window RoPE: transformers 5's `rope_parameters` per layer type, or
    /// the hub's `rope_theta` (default 1e6) with `rope_scaling` and `rope_local_base_freq` (1e4).
    static func ropes(_ json: JSONValue, maxPositions: Int) throws(ModelProblem) -> (global: RopeParameters, local: RopeParameters) {
        typealias R = LlavaConfigReader
        let p = "text_config."
        if let parameters = json["rope_parameters"], parameters["full_attention"] != nil || parameters["sliding_attention"] != nil {
            func read(_ type: String, theta: Double) throws(ModelProblem) -> RopeParameters {
                var inner = parameters[type] ?? .object([])
                if inner == .null { inner = .object([]) }
                let wrapped: JSONValue = .object([("rope_parameters", inner), ("rope_theta", .number(theta))])
                return try R.ropeParameters(wrapped, prefix: p + "rope_parameters." + type + ".", maxPositionEmbeddings: maxPositions)
            }
            return (try read("full_attention", theta: 1_000_000), try read("sliding_attention", theta: 10_000))
        }
        var global = try R.ropeParameters(json, prefix: p, maxPositionEmbeddings: maxPositions)
        if json["rope_theta"] == nil, json["rope_parameters"]?["rope_theta"] == nil, json["rope_scaling"]?["rope_theta"] == nil {
            global.theta = 1_000_000
        }
        let localTheta = try R.double(json, "rope_local_base_freq", p, default: 10_000)
        guard localTheta > 1 else { throw .badConfig(field: p + "rope_local_base_freq", reason: "(\(localTheta)) must be greater than 1") }
        return (global, RopeParameters(theta: localTheta))
    }
}
