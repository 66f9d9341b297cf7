import EAHCheckpoint

/// Reads LLaVA configurations: llava-hf `config.json`, the original LLaVA `config.json` with its
/// CLIP folder's `config.json`, and llama.cpp GGUF metadata (`llama.*`, `clip.*`).
///
/// Every field transformers 5.24 defaults is optional here with the same default:
/// * LlamaConfig: vocab 32000, hidden 4096, intermediate 11008, layers 32, heads 32, kv heads =
///   heads, head_dim = hidden / heads, rms_norm_eps 1e-6, rope_theta 10000, max positions 2048,
///   attention_bias / mlp_bias / tie_word_embeddings false.
/// * CLIPVisionConfig: hidden 768, intermediate 3072, layers 12, heads 12, channels 3, image 224,
///   patch 32, quick_gelu, layer_norm_eps 1e-5. When llava-hf's `vision_config` is absent
///   altogether, LlavaConfig's own sub-config defaults apply instead (hidden 1024, intermediate
///   4096, layers 24, heads 16, image 336, patch 14).
/// * LlavaConfig: image_token_index 32000, projector_hidden_act gelu, strategy default, feature
///   layer -2; `tie_word_embeddings` true at the top level or in `text_config` ties.
/// RoPE: `rope_scaling` wins over `rope_parameters` (as transformers' conversion does);
/// `rope_theta` is read from the dict, else the (text) config's top level, else 10000; `type` is
/// accepted for `rope_type`. Bad or contradictory values throw `ModelProblem.badConfig` naming
/// the field (`text_config.num_key_value_heads`).
public enum LlavaConfigReader {
    /// The image-position marker of the original LLaVA code (`IMAGE_TOKEN_INDEX`), used for
    /// layouts whose vocabulary has no image token (original release, GGUF).
    public static let originalImageTokenIndex = -200

    // MARK: llava-hf

    /// What a llava-hf family's config defaults when a key is absent.
    public struct HFDefaults: Sendable {
        public var modelType: String
        /// `text_config.model_type` when absent.
        public var textType: String
        /// The vision tower when `vision_config` is absent altogether.
        public var visionType: String
        public var visionDefaults: (hidden: Int, intermediate: Int, layers: Int, heads: Int, image: Int, patch: Int)
        public var featureLayer: Int
        public var strategy: String
        public var imageTokenIndex: Int
        /// Whether images are tiled ("anyres", `image_grid_pinpoints`), with these pinpoints by default.
        public var anyresPinpoints: [ImageSize]?
        /// `vision_aspect_ratio` when absent (OneVision's `anyres_max_9`); nil for families that
        /// ignore the key (NeXT).
        public var visionAspectRatio: String?

        /// LlavaConfig's.
        public static let llava = HFDefaults(modelType: "llava", textType: "llama", visionType: "clip_vision_model",
                                             visionDefaults: llavaVisionDefaults, featureLayer: -2, strategy: "default", imageTokenIndex: 32000)
        /// LlavaNextConfig's.
        public static let llavaNext = HFDefaults(modelType: "llava_next", textType: "llama", visionType: "clip_vision_model",
                                                 visionDefaults: llavaVisionDefaults, featureLayer: -2, strategy: "default", imageTokenIndex: 32000,
                                                 anyresPinpoints: AnyResConfig.defaultPinpoints)
    }

    /// A llava-hf `config.json` (`model_type` llava, or llava_next with `image_grid_pinpoints`).
    public static func llavaHF(_ json: JSONValue) throws(ModelProblem) -> LlavaConfig {
        try llavaHF(json, defaults: try string(json, "model_type", "") == "llava_next" ? .llavaNext : .llava)
    }

    /// A llava-hf-style `config.json` of the family `defaults` describes: `text_config` (LLaMA or
    /// Qwen2), `vision_config` (CLIP or SigLIP), projector and feature selection.
    public static func llavaHF(_ json: JSONValue, defaults: HFDefaults) throws(ModelProblem) -> LlavaConfig {
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        if let type = try string(json, "model_type", ""), type != defaults.modelType {
            throw .badConfig(field: "model_type", reason: "is '\(TerminalText.escape(type))', expected '\(defaults.modelType)'")
        }
        let textJSON = json["text_config"].flatMap { $0 == .null ? nil : $0 } ?? .object([])
        var text = try textDecoder(textJSON, prefix: "text_config.", defaultType: defaults.textType)
        if try bool(json, "tie_word_embeddings", "") == true { text.tieWordEmbeddings = true }
        let vision: CLIPVisionConfig
        if let visionJSON = json["vision_config"], visionJSON != .null {
            vision = try visionTower(visionJSON, prefix: "vision_config.", defaultType: defaults.visionType)
        } else {
            vision = try visionTower(.object([("model_type", .string(defaults.visionType))]), prefix: "vision_config.",
                                     defaultType: defaults.visionType, sizes: defaults.visionDefaults)
        }
        let layers = try featureLayers(json["vision_feature_layer"], field: "vision_feature_layer") ?? [defaults.featureLayer]
        let strategy = try string(json, "vision_feature_select_strategy", "") ?? defaults.strategy
        guard let select = LlavaConfig.FeatureSelect(rawValue: strategy) else {
            throw .badConfig(field: "vision_feature_select_strategy", reason: "is '\(strategy)', expected 'default' or 'full'")
        }
        let act = try activation(json, "projector_hidden_act", "", default: .gelu)
        let image = try int(json, "image_token_index", "", default: defaults.imageTokenIndex, range: 0...Int(Int32.max))
        var config = LlavaConfig(text: text, vision: vision, visionFeatureLayers: layers, featureSelect: select,
                                 projectorActivation: act, imageTokenIndex: image)
        config.projectorBias = try bool(json, "multimodal_projector_bias", "") ?? true
        if let pinpoints = defaults.anyresPinpoints {
            config.anyres = AnyResConfig(pinpoints: try self.pinpoints(json["image_grid_pinpoints"], tile: vision.imageSize, default: pinpoints))
            // Only OneVision's config has the key; transformers' NeXT ignores it.
            if let fallback = defaults.visionAspectRatio {
                config.anyres?.maxTiles = try maxTiles(try string(json, "vision_aspect_ratio", "") ?? fallback)
            }
        }
        try validate(config)
        return config
    }

    /// A `text_config` by its `model_type`: Qwen2, or LLaMA (also for types that are LLaMA-shaped
    /// in what is read here).
    static func textDecoder(_ json: JSONValue, prefix: String, defaultType: String) throws(ModelProblem) -> LlamaConfig {
        switch try string(json, "model_type", prefix) ?? defaultType {
        case "qwen2": try qwen2(json, prefix: prefix)
        default: try llama(json, prefix: prefix)
        }
    }

    /// A `vision_config` by its `model_type`: CLIP or SigLIP.
    static func visionTower(_ json: JSONValue, prefix: String, defaultType: String,
                            sizes: (hidden: Int, intermediate: Int, layers: Int, heads: Int, image: Int, patch: Int)? = nil) throws(ModelProblem) -> CLIPVisionConfig {
        switch try string(json, "model_type", prefix) ?? defaultType {
        case "clip_vision_model": return try clipVision(json, prefix: prefix, defaults: sizes ?? clipDefaults)
        case "siglip_vision_model": return try clipVision(json, prefix: prefix, defaults: sizes ?? siglipDefaults, architecture: .siglip)
        case let type: throw .badConfig(field: prefix + "model_type", reason: "is '\(TerminalText.escape(type))'; supported vision towers: clip_vision_model, siglip_vision_model")
        }
    }

    /// A Qwen2 config object: LLaMA's fields with Qwen2Config's defaults, q/k/v biases and no o
    /// bias; without `eos_token_id`, no EOS (Qwen2Config has none). Sliding-window layers
    /// (`use_sliding_window`) are refused.
    public static func qwen2(_ json: JSONValue, prefix: String = "") throws(ModelProblem) -> LlamaConfig {
        guard case .object(var members) = json else { throw .badConfig(field: prefix.isEmpty ? "config" : String(prefix.dropLast()), reason: "is not an object") }
        if try bool(json, "use_sliding_window", prefix) == true {
            throw .badConfig(field: prefix + "use_sliding_window", reason: "is true; Qwen2 sliding-window layers are not supported")
        }
        let qwen2Defaults: [(String, JSONValue)] = [
            ("vocab_size", .integer(151936)), ("hidden_size", .integer(4096)), ("intermediate_size", .integer(22016)),
            ("num_hidden_layers", .integer(32)), ("num_attention_heads", .integer(32)), ("max_position_embeddings", .integer(32768)),
        ]
        for (key, value) in qwen2Defaults where json[key] == nil { members.append((key, value)) }
        // Qwen2Config has no attention_bias: its projections are fixed.
        members.removeAll { $0.0 == "attention_bias" }
        var config = try llama(.object(members), prefix: prefix)
        config.queryKeyValueBias = true
        config.outputBias = false
        if json["eos_token_id"] == nil || json["eos_token_id"] == .null { config.eosTokenIDs = [] }
        return config
    }

    /// `image_grid_pinpoints`: [height, width] pairs, positive multiples of the tower's image size.
    static func pinpoints(_ value: JSONValue?, tile: Int, default fallback: [ImageSize]) throws(ModelProblem) -> [ImageSize] {
        let field = "image_grid_pinpoints"
        guard let value, value != .null else { return fallback }
        guard case .array(let items) = value, !items.isEmpty, items.count <= 1024 else {
            throw .badConfig(field: field, reason: "must be a non-empty list of [height, width] pairs")
        }
        var result: [ImageSize] = []
        for item in items {
            guard case .array(let pair) = item, pair.count == 2, case .integer(let height) = pair[0], case .integer(let width) = pair[1],
                  height > 0, width > 0, height <= 65536, width <= 65536, height % tile == 0, width % tile == 0 else {
                throw .badConfig(field: field, reason: "holds an entry that is not a [height, width] pair of positive multiples of the image size \(tile)")
            }
            result.append(ImageSize(height: height, width: width))
        }
        return result
    }

    /// OneVision's `vision_aspect_ratio`, `anyres_max_N`: the unpadded feature grid is shrunk to
    /// about N tiles' worth (`AnyResConfig.maxTiles`).
    static func maxTiles(_ ratio: String) throws(ModelProblem) -> Int {
        let prefix = "anyres_max_"
        guard ratio.hasPrefix(prefix), let tiles = Int(ratio.dropFirst(prefix.count)), (1...1024).contains(tiles) else {
            throw .badConfig(field: "vision_aspect_ratio", reason: "is '\(TerminalText.escape(ratio))'; expected anyres_max_N (N from 1 to 1024)")
        }
        return tiles
    }

    /// A LLaMA config object (llava-hf `text_config`, or the original LLaVA top level).
    public static func llama(_ json: JSONValue, prefix: String = "") throws(ModelProblem) -> LlamaConfig {
        guard case .object = json else { throw .badConfig(field: prefix.isEmpty ? "config" : String(prefix.dropLast()), reason: "is not an object") }
        let positive = 1...Int(Int32.max)
        let hidden = try int(json, "hidden_size", prefix, default: 4096, range: positive)
        let intermediate = try int(json, "intermediate_size", prefix, default: 11008, range: positive)
        let layers = try int(json, "num_hidden_layers", prefix, default: 32, range: positive)
        let heads = try int(json, "num_attention_heads", prefix, default: 32, range: positive)
        let kvHeads = try int(json, "num_key_value_heads", prefix, default: heads, range: positive)
        let vocab = try int(json, "vocab_size", prefix, default: 32000, range: positive)
        guard hidden % heads == 0 else {
            throw .badConfig(field: prefix + "num_attention_heads", reason: "(\(heads)) does not divide hidden_size (\(hidden))")
        }
        guard heads % kvHeads == 0 else {
            throw .badConfig(field: prefix + "num_key_value_heads", reason: "(\(kvHeads)) does not divide num_attention_heads (\(heads))")
        }
        let headDim = try int(json, "head_dim", prefix, default: hidden / heads, range: positive)
        guard headDim % 2 == 0 else { throw .badConfig(field: prefix + "head_dim", reason: "(\(headDim)) must be even for RoPE") }
        let eps = try double(json, "rms_norm_eps", prefix, default: 1e-6)
        guard eps > 0, eps < 1 else { throw .badConfig(field: prefix + "rms_norm_eps", reason: "(\(eps)) must be in (0, 1)") }
        let maxPositions = try int(json, "max_position_embeddings", prefix, default: 2048, range: positive)
        if let act = try string(json, "hidden_act", prefix), act != "silu" {
            throw .badConfig(field: prefix + "hidden_act", reason: "is '\(act)'; LLaMA uses silu")
        }
        let rope = try ropeParameters(json, prefix: prefix, maxPositionEmbeddings: maxPositions)
        var config = LlamaConfig(hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, headCount: heads, kvHeadCount: kvHeads,
                                 headDim: headDim, vocabSize: vocab, rmsNormEps: Float(eps), maxPositionEmbeddings: maxPositions, rope: rope,
                                 attentionBias: try bool(json, "attention_bias", prefix) ?? false,
                                 mlpBias: try bool(json, "mlp_bias", prefix) ?? false,
                                 tieWordEmbeddings: try bool(json, "tie_word_embeddings", prefix) ?? false,
                                 eosTokenIDs: try eosTokenIDs(json, prefix))
        // llava_mistral: the original LLaVA-NeXT release's LlavaMistralForCausalLM, Mistral fields at the top level.
        if let type = try string(json, "model_type", prefix), type == "mistral" || type == "llava_mistral" {
            // MistralConfig's sliding_window defaults to 4096; null turns the window off.
            if json["sliding_window"] != .null {
                config.slidingWindow = try int(json, "sliding_window", prefix, default: 4096, range: positive)
            }
        }
        return config
    }

    /// `eos_token_id`: an integer, a list of integers, or absent (LLaMA's default, 2).
    static func eosTokenIDs(_ json: JSONValue, _ prefix: String) throws(ModelProblem) -> [Int] {
        switch json["eos_token_id"] {
        case nil, .null?: return [2]
        case .integer(let id)?: return [id]
        case .array(let values)?:
            var ids: [Int] = []
            for value in values {
                guard case .integer(let id) = value else { throw .badConfig(field: prefix + "eos_token_id", reason: "holds a non-integer") }
                ids.append(id)
            }
            return ids
        default: throw .badConfig(field: prefix + "eos_token_id", reason: "is not an integer or a list of integers")
        }
    }

    /// RoPE parameters from `rope_scaling` / `rope_parameters` and `rope_theta` of a config object.
    public static func ropeParameters(_ json: JSONValue, prefix: String = "", maxPositionEmbeddings: Int) throws(ModelProblem) -> RopeParameters {
        var dictField = prefix + "rope_parameters"
        var dict: JSONValue = .object([])
        for key in ["rope_parameters", "rope_scaling"] {
            guard let value = json[key], value != .null else { continue }
            guard case .object(let members) = value else { throw .badConfig(field: prefix + key, reason: "is not an object") }
            if !members.isEmpty || key == "rope_parameters" { dict = value; dictField = prefix + key }
        }
        let field = dictField + "."
        let topTheta = try double(json, "rope_theta", prefix, default: 10000)
        let theta = try double(dict, "rope_theta", field, default: topTheta)
        guard theta > 1 else { throw .badConfig(field: field + "rope_theta", reason: "(\(theta)) must be greater than 1") }
        var typeName = try string(dict, "rope_type", field)
        if typeName == nil { typeName = try string(dict, "type", field) }
        let kind = typeName ?? "default"
        guard let type = RopeParameters.ScalingType(rawValue: kind) else {
            throw .badConfig(field: field + "rope_type", reason: "'\(kind)' is not supported (default, linear, dynamic, llama3, yarn)")
        }
        var extra: [String: Double] = [:]
        if case .object(let members) = dict {
            for (key, value) in members {
                switch value {
                case .integer(let v) where !["original_max_position_embeddings"].contains(key): extra[key] = Double(v)
                case .number(let v) where !["rope_theta", "factor"].contains(key): extra[key] = v
                case .bool(let v): extra[key] = v ? 1 : 0
                default: break
                }
            }
            extra["rope_theta"] = nil
            extra["factor"] = nil
        }
        if let partial = try optionalDouble(json, "partial_rotary_factor", prefix), extra["partial_rotary_factor"] == nil { extra["partial_rotary_factor"] = partial }
        var original: Int? = nil
        if type == .llama3 || type == .yarn {
            original = try int(dict, "original_max_position_embeddings", field, default: maxPositionEmbeddings, range: 1...Int(Int32.max))
        }
        var factor = 1.0
        switch type {
        case .default: break
        case .yarn:
            factor = try double(dict, "factor", field, default: Double(maxPositionEmbeddings) / Double(original ?? maxPositionEmbeddings))
        case .linear, .dynamic, .llama3:
            guard let value = try optionalDouble(dict, "factor", field) else { throw .badConfig(field: field + "factor", reason: "is required for \(kind) RoPE") }
            factor = value
        }
        guard factor > 0, factor.isFinite else { throw .badConfig(field: field + "factor", reason: "(\(factor)) must be positive") }
        if type == .llama3 {
            guard let low = extra["low_freq_factor"], let high = extra["high_freq_factor"] else {
                throw .badConfig(field: field + "low_freq_factor", reason: "low_freq_factor and high_freq_factor are required for llama3 RoPE")
            }
            guard high > low else { throw .badConfig(field: field + "high_freq_factor", reason: "(\(high)) must exceed low_freq_factor (\(low))") }
        }
        return RopeParameters(theta: theta, type: type, factor: factor, extra: extra, originalMaxPositionEmbeddings: original)
    }

    // MARK: CLIP

    /// CLIPVisionConfig's own defaults.
    static let clipDefaults = (hidden: 768, intermediate: 3072, layers: 12, heads: 12, image: 224, patch: 32)
    /// SiglipVisionConfig's own defaults.
    static let siglipDefaults = (hidden: 768, intermediate: 3072, layers: 12, heads: 12, image: 224, patch: 16)
    /// LlavaConfig's defaults for an absent `vision_config`.
    static let llavaVisionDefaults = (hidden: 1024, intermediate: 4096, layers: 24, heads: 16, image: 336, patch: 14)

    /// A CLIP vision config object (`vision_config`, or a CLIP folder's `config.json`: either
    /// `clip_vision_model`, or a whole `clip` model whose `vision_config` is used).
    public static func clipVision(_ json: JSONValue, prefix: String = "") throws(ModelProblem) -> CLIPVisionConfig {
        if prefix.isEmpty, try string(json, "model_type", "") == "clip" {
            return try clipVision(json["vision_config"] ?? .object([]), prefix: "vision_config.", defaults: clipDefaults)
        }
        return try clipVision(json, prefix: prefix, defaults: clipDefaults)
    }

    static func clipVision(_ json: JSONValue, prefix: String, defaults: (hidden: Int, intermediate: Int, layers: Int, heads: Int, image: Int, patch: Int),
                           architecture: VisionArchitecture = .clip) throws(ModelProblem) -> CLIPVisionConfig {
        guard case .object = json else { throw .badConfig(field: prefix.isEmpty ? "config" : String(prefix.dropLast()), reason: "is not an object") }
        let positive = 1...Int(Int32.max)
        let hidden = try int(json, "hidden_size", prefix, default: defaults.hidden, range: positive)
        let heads = try int(json, "num_attention_heads", prefix, default: defaults.heads, range: positive)
        guard hidden % heads == 0 else {
            throw .badConfig(field: prefix + "num_attention_heads", reason: "(\(heads)) does not divide hidden_size (\(hidden))")
        }
        let image = try int(json, "image_size", prefix, default: defaults.image, range: positive)
        let patch = try int(json, "patch_size", prefix, default: defaults.patch, range: positive)
        guard patch <= image else { throw .badConfig(field: prefix + "patch_size", reason: "(\(patch)) exceeds image_size (\(image))") }
        let siglip = architecture == .siglip
        let act = try activation(json, "hidden_act", prefix, default: siglip ? .geluTanh : .quickGELU)
        let eps = try double(json, "layer_norm_eps", prefix, default: siglip ? 1e-6 : 1e-5)
        guard eps > 0, eps < 1 else { throw .badConfig(field: prefix + "layer_norm_eps", reason: "(\(eps)) must be in (0, 1)") }
        return CLIPVisionConfig(hiddenSize: hidden, intermediateSize: try int(json, "intermediate_size", prefix, default: defaults.intermediate, range: positive),
                                layerCount: try int(json, "num_hidden_layers", prefix, default: defaults.layers, range: positive),
                                headCount: heads, imageSize: image, patchSize: patch,
                                channelCount: try int(json, "num_channels", prefix, default: 3, range: 1...64),
                                layerNormEps: Float(eps), hiddenAct: act, architecture: architecture)
    }

    // MARK: original LLaVA

    /// The original LLaVA release's `config.json` (`llava_llama`, LLaMA fields at the top level, `mm_*`
    /// keys) with the `config.json` of the CLIP folder passed as its vision tower.
    ///
    /// The same reader takes the releases built on LLaVA's code: LLaVA-NeXT (`image_aspect_ratio`
    /// anyres) and lmms-lab's LLaVA-OneVision (`LlavaQwenForCausalLM`: Qwen2 fields at the top level,
    /// a SigLIP folder as its tower, `anyres_max_N`).
    public static func original(_ json: JSONValue, visionTower: JSONValue) throws(ModelProblem) -> LlavaConfig {
        guard case .object = json else { throw .badConfig(field: "config.json", reason: "is not a JSON object") }
        let modelType = try string(json, "model_type", "")
        let qwen = architecture(json) == "LlavaQwenForCausalLM" || modelType == "llava_qwen"
        let text = qwen ? try qwen2(json) : try llama(json)
        // A whole SigLIP model's config (google/siglip-*) holds the tower under vision_config.
        let vision: CLIPVisionConfig
        switch try string(visionTower, "model_type", "") {
        case "siglip": vision = try self.visionTower(visionTower["vision_config"] ?? .object([]), prefix: "vision_config.", defaultType: "siglip_vision_model")
        case "siglip_vision_model": vision = try self.visionTower(visionTower, prefix: "", defaultType: "siglip_vision_model")
        default: vision = try clipVision(visionTower)
        }
        let projector = try string(json, "mm_projector_type", "") ?? "linear"
        guard projector == "mlp2x_gelu" else {
            throw .badConfig(field: "mm_projector_type", reason: "is '\(projector)'; only mlp2x_gelu (LLaVA-1.5) is supported")
        }
        let layer = try int(json, "mm_vision_select_layer", "", default: -2, range: -1024...1024)
        let feature = try string(json, "mm_vision_select_feature", "") ?? "patch"
        let select: LlavaConfig.FeatureSelect
        switch feature {
        // A tower without a class token (SigLIP) has no token to drop.
        case "patch": select = vision.spec.classToken ? .default : .full
        case "cls_patch": select = .full
        default: throw .badConfig(field: "mm_vision_select_feature", reason: "is '\(feature)', expected 'patch' or 'cls_patch'")
        }
        if let mmHidden = try optionalInt(json, "mm_hidden_size", ""), mmHidden != vision.hiddenSize {
            throw .badConfig(field: "mm_hidden_size", reason: "(\(mmHidden)) differs from the vision tower's hidden_size (\(vision.hiddenSize))")
        }
        var config = LlavaConfig(text: text, vision: vision, visionFeatureLayers: [layer], featureSelect: select,
                                 projectorActivation: .gelu, imageTokenIndex: originalImageTokenIndex)
        let ratio = try string(json, "image_aspect_ratio", "") ?? "square"
        if ratio.hasPrefix("anyres") {
            // anyres (NeXT) or anyres_max_N (OneVision); transformers' conversions copy the pinpoints as they are.
            var maxTiles: Int?
            if ratio != "anyres" {
                do throws(ModelProblem) { maxTiles = try self.maxTiles(ratio) } catch {
                    throw .badConfig(field: "image_aspect_ratio", reason: "is '\(TerminalText.escape(ratio))'; expected anyres (LLaVA-NeXT) or anyres_max_N (LLaVA-OneVision)")
                }
            }
            let merge = try string(json, "mm_patch_merge_type", "") ?? "flat"
            guard merge == "spatial_unpad" else {
                throw .badConfig(field: "mm_patch_merge_type", reason: "is '\(TerminalText.escape(merge))'; only spatial_unpad (LLaVA-NeXT's release) is supported")
            }
            config.anyres = AnyResConfig(pinpoints: try pinpoints(json["image_grid_pinpoints"], tile: vision.imageSize, default: AnyResConfig.defaultPinpoints),
                                         maxTiles: maxTiles)
        }
        try validate(config)
        return config
    }

    /// `architectures[0]` of a config, if any.
    static func architecture(_ json: JSONValue) -> String? {
        if case .array(let names)? = json["architectures"], case .string(let first)? = names.first { return first }
        return nil
    }

    // MARK: GGUF

    /// A llama.cpp text GGUF's `llama.*` metadata with its mmproj's `clip.*` metadata.
    ///
    /// The legacy mmproj holds the tower without its last layer (LLaVA's feature layer -2), so the
    /// vision config counts `clip.vision.block_count + 1` layers and features come from layer -2,
    /// class token dropped; the image token is `originalImageTokenIndex`. `hasOutput`: whether the
    /// text GGUF has `output.weight` (else embeddings are tied).
    public static func gguf(text: [MetadataEntry], mmproj: [MetadataEntry], hasOutput: Bool, vocabRows: Int?) throws(ModelProblem) -> LlavaConfig {
        guard metaValue(text, "general.architecture")?.string == "llama" else {
            throw .badConfig(field: "general.architecture", reason: "of the text model is '\(metaValue(text, "general.architecture")?.string ?? "missing")', expected 'llama'")
        }
        guard metaValue(mmproj, "general.architecture")?.string == "clip" else {
            throw .badConfig(field: "general.architecture", reason: "of the mmproj is '\(metaValue(mmproj, "general.architecture")?.string ?? "missing")', expected 'clip'")
        }
        let textConfig = try ggufText(text, hasOutput: hasOutput, vocabRows: vocabRows)

        if let type = metaValue(mmproj, "clip.projector_type")?.string, type != "mlp" {
            throw .badConfig(field: "clip.projector_type", reason: "is '\(type)'; only the LLaVA mlp projector is supported")
        }
        guard metaValue(mmproj, "clip.has_llava_projector") == .bool(true) else {
            throw .badConfig(field: "clip.has_llava_projector", reason: "is not true; the mmproj holds no LLaVA projector")
        }
        if metaValue(mmproj, "clip.vision.feature_layer") != nil {
            throw .badConfig(field: "clip.vision.feature_layer", reason: "is set; only legacy LLaVA-1.5 mmproj files (penultimate layer) are supported")
        }
        let vHidden = try metaInteger(mmproj, "clip.vision.embedding_length")
        let vHeads = try metaInteger(mmproj, "clip.vision.attention.head_count")
        guard vHidden % vHeads == 0 else { throw .badConfig(field: "clip.vision.attention.head_count", reason: "(\(vHeads)) does not divide embedding_length (\(vHidden))") }
        let blocks = try metaInteger(mmproj, "clip.vision.block_count", range: 0...4096)
        let image = try metaInteger(mmproj, "clip.vision.image_size")
        let patch = try metaInteger(mmproj, "clip.vision.patch_size")
        guard patch <= image else { throw .badConfig(field: "clip.vision.patch_size", reason: "(\(patch)) exceeds image_size (\(image))") }
        let gelu = metaValue(mmproj, "clip.use_gelu") == .bool(true)
        let vision = CLIPVisionConfig(hiddenSize: vHidden, intermediateSize: try metaInteger(mmproj, "clip.vision.feed_forward_length"),
                                      layerCount: blocks + 1, headCount: vHeads, imageSize: image, patchSize: patch,
                                      layerNormEps: Float(try metaFloat(mmproj, "clip.vision.attention.layer_norm_epsilon", default: 1e-5)),
                                      hiddenAct: gelu ? .gelu : .quickGELU)
        var config = LlavaConfig(text: textConfig, vision: vision, visionFeatureLayers: [-2], featureSelect: .default,
                                 projectorActivation: .gelu, imageTokenIndex: originalImageTokenIndex)
        if let pinpoints = try ggufPinpoints(mmproj, tile: image) {
            config.anyres = AnyResConfig(pinpoints: pinpoints, packing: .llamaCppSlices)
        }
        try validate(config)
        return config
    }

    /// LLaVA-NeXT's `clip.vision.image_grid_pinpoints` of a legacy mmproj: a flat list of pairs that
    /// llama.cpp reads as (width, height), each a positive multiple of the tile size; nil when absent.
    public static func ggufPinpoints(_ mmproj: [MetadataEntry], tile: Int) throws(ModelProblem) -> [ImageSize]? {
        let key = "clip.vision.image_grid_pinpoints"
        guard let value = metaValue(mmproj, key) else { return nil }
        guard case .array(_, let items) = value, !items.isEmpty, items.count % 2 == 0, items.count <= 2048 else {
            throw .badConfig(field: key, reason: "must be a non-empty flat list of (width, height) pairs")
        }
        var sides: [Int] = []
        for item in items {
            guard let side = item.integer, side > 0, side <= 65536, side % tile == 0 else {
                throw .badConfig(field: key, reason: "holds a value that is not a positive multiple of the image size \(tile)")
            }
            sides.append(side)
        }
        return stride(from: 0, to: sides.count, by: 2).map { ImageSize(height: sides[$0 + 1], width: sides[$0]) }
    }

    /// The LLaMA-shaped decoder of a llama.cpp text GGUF (`<architecture>.*` keys: `llama`, or
    /// `qwen2`, whose biases the caller sets); `hasOutput`: whether it has `output.weight` (else
    /// embeddings are tied).
    public static func ggufText(_ text: [MetadataEntry], hasOutput: Bool, vocabRows: Int?, architecture: String = "llama") throws(ModelProblem) -> LlamaConfig {
        let a = architecture + "."
        let hidden = try metaInteger(text, a + "embedding_length")
        let heads = try metaInteger(text, a + "attention.head_count")
        let kvHeads = try metaInteger(text, a + "attention.head_count_kv", default: heads)
        guard heads % kvHeads == 0 else { throw .badConfig(field: a + "attention.head_count_kv", reason: "(\(kvHeads)) does not divide head_count (\(heads))") }
        let headDim = try metaInteger(text, a + "attention.key_length", default: try metaInteger(text, a + "rope.dimension_count", default: hidden / heads))
        guard headDim % 2 == 0 else { throw .badConfig(field: a + "rope.dimension_count", reason: "(\(headDim)) must be even") }
        let tokens: Int? = if case .array(_, let list) = metaValue(text, "tokenizer.ggml.tokens") { list.count } else { nil }
        let vocab = try metaInteger(text, a + "vocab_size", default: vocabRows ?? tokens)
        let maxPositions = try metaInteger(text, a + "context_length", default: 2048)
        let theta = try metaFloat(text, a + "rope.freq_base", default: 10000)
        var rope = RopeParameters(theta: theta)
        if let scaling = metaValue(text, a + "rope.scaling.type")?.string, scaling != "none" {
            guard let type = RopeParameters.ScalingType(rawValue: scaling), type == .linear || type == .yarn else {
                throw .badConfig(field: a + "rope.scaling.type", reason: "'\(scaling)' is not supported")
            }
            rope.type = type
            rope.factor = try metaFloat(text, a + "rope.scaling.factor", default: 1)
            if type == .yarn { rope.originalMaxPositionEmbeddings = try metaInteger(text, a + "rope.scaling.original_context_length", default: maxPositions) }
        }
        let textConfig = LlamaConfig(hiddenSize: hidden, intermediateSize: try metaInteger(text, a + "feed_forward_length"),
                                     layerCount: try metaInteger(text, a + "block_count"), headCount: heads, kvHeadCount: kvHeads, headDim: headDim,
                                     vocabSize: vocab, rmsNormEps: Float(try metaFloat(text, a + "attention.layer_norm_rms_epsilon", default: 1e-6)),
                                     maxPositionEmbeddings: maxPositions, rope: rope, tieWordEmbeddings: !hasOutput,
                                     eosTokenIDs: [try metaInteger(text, "tokenizer.ggml.eos_token_id", default: 2, range: 0...Int(Int32.max))])
        return textConfig
    }

    /// GGUF metadata lookups with the config errors of a missing or mistyped key.
    static func metaValue(_ entries: [MetadataEntry], _ key: String) -> MetadataValue? { entries.first { $0.key == key }?.value }
    static func metaInteger(_ entries: [MetadataEntry], _ key: String, default fallback: Int? = nil, range: ClosedRange<Int> = 1...Int(Int32.max)) throws(ModelProblem) -> Int {
        guard let raw = metaValue(entries, key) else {
            guard let fallback else { throw .badConfig(field: key, reason: "is missing") }
            return fallback
        }
        guard let number = raw.integer else {
            if case .array = raw { throw .badConfig(field: key, reason: "is a per-layer array; only uniform models are supported") }
            throw .badConfig(field: key, reason: "is not an integer")
        }
        guard range.contains(number) else { throw .badConfig(field: key, reason: "(\(number)) is out of range \(range.lowerBound)...\(range.upperBound)") }
        return number
    }
    static func metaFloat(_ entries: [MetadataEntry], _ key: String, default fallback: Double) throws(ModelProblem) -> Double {
        guard let raw = metaValue(entries, key) else { return fallback }
        switch raw {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default:
            if let v = raw.integer { return Double(v) }
            throw .badConfig(field: key, reason: "is not a number")
        }
    }

    // MARK: checks

    /// Cross-field checks: feature layers inside the tower.
    static func validate(_ config: LlavaConfig) throws(ModelProblem) {
        guard !config.visionFeatureLayers.isEmpty else { throw .badConfig(field: "vision_feature_layer", reason: "is an empty list") }
        for layer in config.visionFeatureLayers {
            let count = config.vision.layerCount + 1
            guard layer >= -count, layer < count else {
                throw .badConfig(field: "vision_feature_layer", reason: "(\(layer)) is outside the vision tower's \(count) hidden states")
            }
        }
    }

    /// The number of vision encoder layers the feature layers need (hidden state k is the output of layer k-1).
    public static func neededVisionLayers(_ config: LlavaConfig) -> Int {
        let count = config.vision.layerCount + 1
        return config.visionFeatureLayers.map { $0 < 0 ? $0 + count : $0 }.max() ?? config.vision.layerCount
    }

    // MARK: JSON fields

    static func featureLayers(_ value: JSONValue?, field: String) throws(ModelProblem) -> [Int]? {
        switch value {
        case nil, .null?: return nil
        case .integer(let v)?: return [v]
        case .array(let items)?:
            var layers: [Int] = []
            for item in items {
                guard case .integer(let v) = item else { throw .badConfig(field: field, reason: "holds a non-integer") }
                layers.append(v)
            }
            return layers
        default: throw .badConfig(field: field, reason: "is not an integer or a list of integers")
        }
    }

    static func activation(_ json: JSONValue, _ key: String, _ prefix: String, default fallback: Activation) throws(ModelProblem) -> Activation {
        guard let name = try string(json, key, prefix) else { return fallback }
        switch name {
        case "quick_gelu": return .quickGELU
        case "gelu": return .gelu
        case "gelu_pytorch_tanh", "gelu_new": return .geluTanh
        case "silu": return .silu
        default: throw .badConfig(field: prefix + key, reason: "'\(name)' is not a supported activation")
        }
    }

    static func string(_ json: JSONValue, _ key: String, _ prefix: String) throws(ModelProblem) -> String? {
        switch json[key] {
        case nil, .null?: return nil
        case .string(let v)?: return v
        default: throw .badConfig(field: prefix + key, reason: "is not a string")
        }
    }

    static func bool(_ json: JSONValue, _ key: String, _ prefix: String) throws(ModelProblem) -> Bool? {
        switch json[key] {
        case nil, .null?: return nil
        case .bool(let v)?: return v
        default: throw .badConfig(field: prefix + key, reason: "is not a boolean")
        }
    }

    static func optionalInt(_ json: JSONValue, _ key: String, _ prefix: String) throws(ModelProblem) -> Int? {
        switch json[key] {
        case nil, .null?: return nil
        case .integer(let v)?: return v
        case .number(let v)? where v == v.rounded() && abs(v) < 1e15: return Int(v)
        default: throw .badConfig(field: prefix + key, reason: "is not an integer")
        }
    }

    static func int(_ json: JSONValue, _ key: String, _ prefix: String, default fallback: Int, range: ClosedRange<Int>) throws(ModelProblem) -> Int {
        let value = try optionalInt(json, key, prefix) ?? fallback
        guard range.contains(value) else {
            throw .badConfig(field: prefix + key, reason: "(\(value)) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    static func optionalDouble(_ json: JSONValue, _ key: String, _ prefix: String) throws(ModelProblem) -> Double? {
        switch json[key] {
        case nil, .null?: return nil
        case .integer(let v)?: return Double(v)
        case .number(let v)?: return v
        default: throw .badConfig(field: prefix + key, reason: "is not a number")
        }
    }

    static func double(_ json: JSONValue, _ key: String, _ prefix: String, default fallback: Double) throws(ModelProblem) -> Double {
        try optionalDouble(json, key, prefix) ?? fallback
    }
}
