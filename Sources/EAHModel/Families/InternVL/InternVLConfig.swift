import EAHCheckpoint

/// An InternVL 2.5 / 3 model's configuration in the transformers `-hf` form
/// (`InternVLForConditionalGeneration`, `model_type` internvl): InternViT, pixel shuffle by
/// `downsample_ratio`, the LayerNorm–Linear–GELU–Linear projector, and a Qwen2 (or LLaMA-shaped)
/// decoder.
public struct InternVLConfig: Sendable, Equatable {
    public var vision: InternViTSpec
    public var text: DecoderSpec
    /// `<IMG_CONTEXT>`: one per image feature.
    public var imageTokenID: Int
    /// Features per tile: `(patchesPerSide · downsampleRatio)²`.
    public var tokensPerTile: Int
    /// Patches merged per side by the pixel shuffle (`1 / downsample_ratio`: 2).
    public var shuffleFactor: Int
    public var projectorActivation: Activation
    public var eosTokenIDs: [Int]
    /// The release layout's tiling (`config.json`'s dynamic_image_size, min/max_dynamic_patch);
    /// nil for `-hf` folders, whose processor configuration says it.
    public var tiling: InternVLTiling? = nil

    /// Width of a feature after the pixel shuffle (the projector's input).
    public var shuffledWidth: Int { vision.hiddenSize * shuffleFactor * shuffleFactor }
    /// transformers' projector LayerNorm is built with torch's default epsilon.
    public static let projectorNormEps: Float = 1e-5
}

/// How the release's `dynamic_preprocess` tiles an image: `force_image_size`² tiles of the grid
/// closest to the image's aspect with `minTiles...maxTiles` tiles, then a thumbnail.
public struct InternVLTiling: Sendable, Equatable {
    public var tileSize: Int
    public var dynamic: Bool
    public var minTiles: Int
    public var maxTiles: Int

    public init(tileSize: Int, dynamic: Bool, minTiles: Int, maxTiles: Int) {
        self.tileSize = tileSize
        self.dynamic = dynamic
        self.minTiles = minTiles
        self.maxTiles = maxTiles
    }
}

/// Reads a transformers 5 `config.json` of InternVL (`vision_config` + `text_config`). Defaults
/// are `InternVLConfig`/`InternVLVisionConfig`'s of transformers 5.24.
public enum InternVLConfigReader {
    public static func read(_ json: JSONValue) throws(ModelProblem) -> InternVLConfig {
        typealias R = LlavaConfigReader
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        let type = try R.string(json, "model_type", "") ?? ""
        guard InternVL.modelTypes.contains(type) else {
            throw .badConfig(field: "model_type", reason: "is '\(TerminalText.escape(type))', expected 'internvl'")
        }
        let textJSON = json["text_config"] ?? .object([])
        let textConfig = try R.textDecoder(textJSON, prefix: "text_config.", defaultType: "qwen2")
        var text = textConfig.spec
        let topTied = try R.bool(json, "tie_word_embeddings", "")
        let textTied = try R.bool(textJSON, "tie_word_embeddings", "text_config.")
        text.tiedHead = topTied ?? textTied ?? true
        let vision = try visionSpec(json["vision_config"] ?? .object([]))

        let ratio = try R.double(json, "downsample_ratio", "", default: 0.5)
        let factor = ratio > 0 ? Int((1 / ratio).rounded()) : 0
        guard factor >= 1, abs(1 / Double(factor) - ratio) < 1e-9, vision.patchesPerSide % factor == 0 else {
            throw .badConfig(field: "downsample_ratio", reason: "(\(ratio)) must be 1/n with n dividing the \(vision.patchesPerSide) patches per side")
        }
        if let layer = try R.optionalInt(json, "vision_feature_layer", ""), layer != -1 {
            throw .badConfig(field: "vision_feature_layer", reason: "is \(layer); only -1 (the last layer, as InternVL releases use) is supported")
        }
        if let strategy = try R.string(json, "vision_feature_select_strategy", ""), strategy != "default" {
            throw .badConfig(field: "vision_feature_select_strategy", reason: "is '\(TerminalText.escape(strategy))'; only 'default' (class token dropped) is supported")
        }
        let side = vision.patchesPerSide / factor
        let perTile = try R.int(json, "image_seq_length", "", default: side * side, range: 1...Int(Int32.max))
        guard perTile == side * side else {
            throw .badConfig(field: "image_seq_length", reason: "(\(perTile)) must be (patches per side · downsample_ratio)² = \(side * side)")
        }
        let imageToken = try R.int(json, "image_token_id", "", default: 151667, range: 0...(text.vocabSize - 1))
        var eos = textConfig.eosTokenIDs
        if json["eos_token_id"] != nil { eos = try R.eosTokenIDs(json, "") }
        return InternVLConfig(vision: vision, text: text, imageTokenID: imageToken, tokensPerTile: perTile, shuffleFactor: factor,
                              projectorActivation: try R.activation(json, "projector_hidden_act", "", default: .gelu), eosTokenIDs: eos)
    }

    static func visionSpec(_ json: JSONValue) throws(ModelProblem) -> InternViTSpec {
        typealias R = LlavaConfigReader
        let p = "vision_config.", positive = 1...Int(Int32.max)
        func square(_ key: String, _ fallback: Int) throws(ModelProblem) -> Int {
            switch json[key] {
            case .array(let items)?:
                guard items.count == 2, case .integer(let a) = items[0], case .integer(let b) = items[1], a == b, positive.contains(a) else {
                    throw .badConfig(field: p + key, reason: "must be a positive size or a [height, width] pair of equal sizes")
                }
                return a
            default:
                return try R.int(json, key, p, default: fallback, range: positive)
            }
        }
        let normName = try R.string(json, "norm_type", p) ?? "layer_norm"
        guard let norm = InternViTSpec.Norm(rawValue: normName) else {
            throw .badConfig(field: p + "norm_type", reason: "is '\(TerminalText.escape(normName))'; expected layer_norm or rms_norm")
        }
        if try R.bool(json, "use_mean_pooling", p) == false {
            throw .badConfig(field: p + "use_mean_pooling", reason: "is false (a final LayerNorm); InternVL's towers have none")
        }
        if try R.bool(json, "use_absolute_position_embeddings", p) == false {
            throw .badConfig(field: p + "use_absolute_position_embeddings", reason: "is false; InternViT has learned positions")
        }
        let spec = InternViTSpec(
            hiddenSize: try R.int(json, "hidden_size", p, default: 1024, range: positive),
            intermediateSize: try R.int(json, "intermediate_size", p, default: 4096, range: positive),
            layerCount: try R.int(json, "num_hidden_layers", p, default: 24, range: positive),
            headCount: try R.int(json, "num_attention_heads", p, default: 16, range: positive),
            imageSize: try square("image_size", 448), patchSize: try square("patch_size", 14),
            channelCount: try R.int(json, "num_channels", p, default: 3, range: 1...16), norm: norm,
            normEps: Float(try R.double(json, "layer_norm_eps", p, default: 1e-6)),
            qkvBias: try R.bool(json, "attention_bias", p) ?? false, qkNorm: try R.bool(json, "use_qk_norm", p) ?? false,
            activation: try R.activation(json, "hidden_act", p, default: .gelu))
        guard spec.hiddenSize % spec.headCount == 0 else {
            throw .badConfig(field: p + "num_attention_heads", reason: "(\(spec.headCount)) does not divide hidden_size (\(spec.hiddenSize))")
        }
        guard spec.imageSize % spec.patchSize == 0 else {
            throw .badConfig(field: p + "patch_size", reason: "(\(spec.patchSize)) does not divide image_size (\(spec.imageSize))")
        }
        guard spec.normEps > 0, spec.normEps < 1 else { throw .badConfig(field: p + "layer_norm_eps", reason: "(\(spec.normEps)) must be in (0, 1)") }
        return spec
    }

    /// Reads the release layout's `config.json` (`InternVLChatModel`, `model_type` internvl_chat):
    /// `vision_config` with InternVisionConfig's keys, `llm_config`, and the top-level
    /// downsample_ratio, force_image_size, select_layer, ps_version and tiling keys. The
    /// `<IMG_CONTEXT>` id is the tokenizer's (`imageTokenID`): the release's config does not hold it.
    public static func readOriginal(_ json: JSONValue, imageTokenID: Int) throws(ModelProblem) -> InternVLConfig {
        typealias R = LlavaConfigReader
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        guard case .object? = json["llm_config"] else { throw .badConfig(field: "llm_config", reason: "is missing; the release layout's config.json holds the decoder's configuration there") }
        let llm = json["llm_config"] ?? .object([])
        let llmArchitecture = LlavaLoader.architecture(llm, fallback: "")
        let llmType = try R.string(llm, "model_type", "llm_config.")
        if llmArchitecture == "InternLM2ForCausalLM" || llmType == "internlm2" {
            throw .badConfig(field: "llm_config.architectures", reason: "is InternLM2ForCausalLM; the InternLM2 decoder (fused wqkv) is not supported yet: use an InternVL with a Qwen2 decoder (InternVL3, most InternVL2.5 sizes)")
        }
        let textConfig = try R.textDecoder(llm, prefix: "llm_config.", defaultType: "qwen2")
        var text = textConfig.spec
        let topTied = try R.bool(json, "tie_word_embeddings", ""), llmTied = try R.bool(llm, "tie_word_embeddings", "llm_config.")
        text.tiedHead = topTied ?? llmTied ?? false

        // InternVisionConfig's own key names, read through transformers' (as its conversion script renames them).
        guard case .object(let visionMembers)? = json["vision_config"] else { throw .badConfig(field: "vision_config", reason: "is missing or not an object") }
        let renamed: [String: String] = ["qkv_bias": "attention_bias", "qk_normalization": "use_qk_norm"]
        let renamedMembers: [(String, JSONValue)] = visionMembers.map { (renamed[$0.0] ?? $0.0, $0.1) }
        let vision = try visionSpec(.object(renamedMembers))
        let size = try R.int(json, "force_image_size", "", default: vision.imageSize, range: 1...Int(Int32.max))
        guard size == vision.imageSize else {
            throw .badConfig(field: "force_image_size", reason: "(\(size)) differs from vision_config.image_size (\(vision.imageSize)); position interpolation for another tile size is not supported")
        }
        if let layer = try R.optionalInt(json, "select_layer", ""), layer != -1 {
            throw .badConfig(field: "select_layer", reason: "is \(layer); only -1 (the last layer, as InternVL releases use) is supported")
        }
        if let version = try R.string(json, "ps_version", ""), version != "v2" {
            throw .badConfig(field: "ps_version", reason: "is '\(TerminalText.escape(version))'; only the v2 pixel shuffle (InternVL 1.5 and later) is supported")
        }
        if try R.bool(json, "use_thumbnail", "") == false {
            throw .badConfig(field: "use_thumbnail", reason: "is false; only tilings with a thumbnail (every InternVL 2.5 / 3 release) are supported")
        }
        let ratio = try R.double(json, "downsample_ratio", "", default: 0.5)
        let factor = ratio > 0 ? Int((1 / ratio).rounded()) : 0
        guard factor >= 1, abs(1 / Double(factor) - ratio) < 1e-9, vision.patchesPerSide % factor == 0 else {
            throw .badConfig(field: "downsample_ratio", reason: "(\(ratio)) must be 1/n with n dividing the \(vision.patchesPerSide) patches per side")
        }
        let side = vision.patchesPerSide / factor
        guard (0..<text.vocabSize).contains(imageTokenID) else {
            throw .badConfig(field: "llm_config.vocab_size", reason: "(\(text.vocabSize)) does not hold the tokenizer's <IMG_CONTEXT> id \(imageTokenID)")
        }
        let minTiles = try R.int(json, "min_dynamic_patch", "", default: 1, range: 1...64)
        let maxTiles = try R.int(json, "max_dynamic_patch", "", default: 12, range: 1...64)
        guard minTiles <= maxTiles else { throw .badConfig(field: "min_dynamic_patch", reason: "(\(minTiles)) exceeds max_dynamic_patch (\(maxTiles))") }
        let tiling = InternVLTiling(tileSize: size, dynamic: try R.bool(json, "dynamic_image_size", "") ?? true, minTiles: minTiles, maxTiles: maxTiles)
        return InternVLConfig(vision: vision, text: text, imageTokenID: imageTokenID, tokensPerTile: side * side, shuffleFactor: factor,
                              projectorActivation: .gelu, eosTokenIDs: textConfig.eosTokenIDs, tiling: tiling)
    }

    /// The id of `token` as the tokenizer files in `folder` name it: tokenizer_config.json's
    /// `added_tokens_decoder`, added_tokens.json, or tokenizer.json's `added_tokens`.
    public static func addedTokenID(_ token: String, folder: String) -> Int? {
        if case .object(let decoder)? = (try? LlavaLoader.parseJSON(folder + "/tokenizer_config.json"))?["added_tokens_decoder"],
           let entry = decoder.first(where: { $0.1["content"] == .string(token) }), let id = Int(entry.0) {
            return id
        }
        if case .integer(let id)? = (try? LlavaLoader.parseJSON(folder + "/added_tokens.json"))?[token] { return id }
        if case .array(let added)? = (try? LlavaLoader.parseJSON(folder + "/tokenizer.json"))?["added_tokens"],
           let entry = added.first(where: { $0["content"] == .string(token) }), case .integer(let id)? = entry["id"] {
            return id
        }
        return nil
    }
}
