import EAHCheckpoint
import EAHCore

/// A loaded InternVL model: configuration, weights, and the open checkpoint whose memory map the
/// matrices point into.
public struct InternVLWeights: @unchecked Sendable {
    public var config: InternVLConfig
    public var vision: InternViTWeights
    public var projectorNorm: NormWeights
    public var projector1: LinearWeights
    public var projector2: LinearWeights
    public var text: LlamaWeights
    public var layout: InternVLLayout
    public var source: any CheckpointReader
}

/// How a checkpoint names InternVL's tensors, as data: the prefixes, InternViT's and the
/// projector's names, and the decoder's names (a Qwen2/LLaMA decoder named as transformers names it).
public struct InternVLLayout: Sendable, Equatable {
    public var name: String
    public var vision: String
    public var tower: InternViTNames
    public var projector: String
    /// The projector's LayerNorm and two linears (after the prefix).
    public var projectorParts: [String]
    public var text: Qwen2VLLayout

    static func transformers(name: String, text: String, head: String, vision: String, projector: String) -> InternVLLayout {
        var decoder = Qwen2VLLayout.transformers(name: name, text: text, vision: vision)
        decoder.names[.head] = head
        return InternVLLayout(name: name, vision: vision, tower: .transformers, projector: projector,
                              projectorParts: ["layer_norm", "linear_1", "linear_2"], text: decoder)
    }

    /// What transformers 5.24's `save_pretrained` writes: `language_model.model.*`,
    /// `language_model.lm_head`, `vision_tower.*`, `multi_modal_projector.*`.
    public static let saved = transformers(name: "internvl-hf", text: "language_model.model.", head: "language_model.lm_head",
                                           vision: "vision_tower.", projector: "multi_modal_projector.")
    /// transformers 5's in-memory names: `model.language_model.*`, `lm_head`, `model.vision_tower.*`,
    /// `model.multi_modal_projector.*`.
    public static let inMemory = transformers(name: "internvl-hf-current", text: "model.language_model.", head: "lm_head",
                                              vision: "model.vision_tower.", projector: "model.multi_modal_projector.")
    /// The release repositories' `InternVLChatModel` (OpenGVLab/InternVL2_5-*, InternVL3-*):
    /// `vision_model.*` with fused `attn.qkv`, the projector `mlp1.0/1/3`, and the decoder as
    /// saved (`language_model.model.*`, `language_model.lm_head`), the inverse of transformers'
    /// convert_internvl_weights_to_hf.py.
    public static let original: InternVLLayout = {
        var layout = saved
        layout.name = "internvl-original"
        layout.text.name = "internvl-original"
        layout.vision = "vision_model."
        layout.tower = .original
        layout.projector = "mlp1."
        layout.projectorParts = ["0", "1", "3"]
        return layout
    }()
    public static let all = [saved, inMemory, original]
    /// llama.cpp's pair: a `qwen2` text GGUF (`token_embd`, `blk.N.*`, unpermuted q/k) and an
    /// `internvl` mmproj (`v.*`, the projector as `mm.model.mlp.0/1/3`).
    public static let llamaCpp: InternVLLayout = {
        var text = Qwen2VLLayout.gguf
        text.name = WeightLayout.llamaCppText.rawValue
        return InternVLLayout(name: WeightLayout.llamaCppText.rawValue, vision: "v.", tower: .llamaCpp, projector: "mm.model.mlp.",
                              projectorParts: ["0", "1", "3"], text: text)
    }()

    static func detect(_ source: TensorSource) -> InternVLLayout? {
        all.first { source.has($0.vision + $0.tower.classToken) && source.has($0.text.name(.embedding) + ".weight") }
    }
}

/// InternViT's tensor names (after the tower's prefix), as data: transformers' and the release's.
public struct InternViTNames: Sendable, Equatable {
    public enum Attention: Sendable, Equatable {
        /// Separate q, k, v linears.
        case split(query: String, key: String, value: String)
        /// One linear of `3 · hidden` rows: q, then k, then v.
        case fused(String)
    }
    public var classToken: String
    public var positions: String
    public var patchEmbedding: String
    /// Layer `n`'s prefix is `layers + "\(n)."`.
    public var layers: String
    public var attention: String
    public var qkv: Attention
    public var output: String
    public var norm1: String
    public var norm2: String
    public var lambda1: String
    public var lambda2: String
    /// QK-norm weights, after the attention prefix.
    public var queryNorm = "q_norm"
    public var keyNorm = "k_norm"
    public var fc1 = "mlp.fc1"
    public var fc2 = "mlp.fc2"

    public static let transformers = InternViTNames(
        classToken: "embeddings.cls_token", positions: "embeddings.position_embeddings", patchEmbedding: "embeddings.patch_embeddings.projection",
        layers: "encoder.layer.", attention: "attention.", qkv: .split(query: "q_proj", key: "k_proj", value: "v_proj"),
        output: "projection_layer", norm1: "layernorm_before", norm2: "layernorm_after", lambda1: "lambda_1", lambda2: "lambda_2")
    public static let original = InternViTNames(
        classToken: "embeddings.class_embedding", positions: "embeddings.position_embedding", patchEmbedding: "embeddings.patch_embedding",
        layers: "encoder.layers.", attention: "attn.", qkv: .fused("qkv"),
        output: "proj", norm1: "norm1", norm2: "norm2", lambda1: "ls1", lambda2: "ls2")
    /// llama.cpp's mmproj (convert_hf_to_gguf's InternVisionModel, prefix `v.`): q, k, v split,
    /// layer scales as `ls1.weight`/`ls2.weight`.
    public static let llamaCpp = InternViTNames(
        classToken: "class_embd", positions: "position_embd.weight", patchEmbedding: "patch_embd",
        layers: "blk.", attention: "", qkv: .split(query: "attn_q", key: "attn_k", value: "attn_v"),
        output: "attn_out", norm1: "ln1", norm2: "ln2", lambda1: "ls1.weight", lambda2: "ls2.weight",
        queryNorm: "attn_q_norm", keyNorm: "attn_k_norm", fc1: "ffn_up", fc2: "ffn_down")
}

public enum InternVLLoader {
    /// Loads the transformers folder (or safetensors file beside its `config.json`) at `path`.
    public static func load(model path: String) throws(CheckpointError) -> InternVLWeights {
        let configPath = LlavaLoader.configPath(beside: path)
        let config = try config(LlavaLoader.parseJSON(configPath), path: configPath, folder: ModelFiles.folder(of: path))
        return try load(reader: try Checkpoint.open(path), config: config)
    }

    /// The configuration of `config.json` (at `path`): the `-hf` form, or the release's
    /// (`model_type` internvl_chat), whose `<IMG_CONTEXT>` id comes from the tokenizer in `folder`.
    static func config(_ json: JSONValue, path: String, folder: String) throws(CheckpointError) -> InternVLConfig {
        do throws(ModelProblem) {
            guard json["model_type"] == .string(InternVL.originalModelType) else { return try InternVLConfigReader.read(json) }
            guard let id = InternVLConfigReader.addedTokenID("<IMG_CONTEXT>", folder: folder) else {
                throw ModelProblem.needsCompanion("the release layout's <IMG_CONTEXT> id comes from its tokenizer, but no tokenizer file in the folder (tokenizer_config.json added_tokens_decoder, added_tokens.json, tokenizer.json) names <IMG_CONTEXT>")
            }
            return try InternVLConfigReader.readOriginal(json, imageTokenID: id)
        } catch { throw CheckpointError(path: path, problem: error) }
    }

    /// Loads `config`'s model from `reader`, refusing missing, misshapen and unknown tensors.
    public static func load(reader: any CheckpointReader, config: InternVLConfig) throws(CheckpointError) -> InternVLWeights {
        let source = TensorSource(reader)
        guard let layout = InternVLLayout.detect(source) else {
            throw CheckpointError(path: reader.path, problem: ModelProblem.unsupportedLayout(
                "holds no InternVL tensors (vision_tower.embeddings.cls_token with language_model.model.embed_tokens, their model.* forms, or the release's vision_model.embeddings.class_embedding)"))
        }
        let s = TrackingSource(source: source)
        let weights = try assemble(text: s, vision: s, config: config, layout: layout, source: reader)
        try refuseUnused(reader, s)
        return weights
    }

    /// The model from the text decoder's tensors in `text` and the tower's and projector's in `vision`.
    static func assemble(text t: TrackingSource, vision s: TrackingSource, config: InternVLConfig, layout: InternVLLayout,
                         source: any CheckpointReader) throws(CheckpointError) -> InternVLWeights {
        let text = try Qwen2VLLoader.textWeights(t, config.text, layout.text)
        let vision = try visionWeights(s, config.vision, prefix: layout.vision, names: layout.tower)
        let p = layout.projector, parts = layout.projectorParts, width = config.shuffledWidth, hidden = config.text.hiddenSize
        return InternVLWeights(
            config: config, vision: vision, projectorNorm: try s.norm(p + parts[0], width: width, bias: true),
            projector1: try s.linear(p + parts[1], rows: hidden, columns: width, bias: true),
            projector2: try s.linear(p + parts[2], rows: hidden, columns: hidden, bias: true),
            text: text, layout: layout, source: source)
    }

    static func refuseUnused(_ reader: any CheckpointReader, _ s: TrackingSource) throws(CheckpointError) {
        let unexpected = reader.tensors.map(\.name).filter { !s.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
    }

    static func visionWeights(_ s: TrackingSource, _ spec: InternViTSpec, prefix p: String, names: InternViTNames) throws(CheckpointError) -> InternViTWeights {
        let hidden = spec.hiddenSize, layerNorm = spec.norm == .layerNorm
        var layers: [InternViTLayerWeights] = []
        for n in 0..<spec.layerCount {
            let l = p + names.layers + "\(n).", a = l + names.attention
            var queryNorm: NormWeights? = nil, keyNorm: NormWeights? = nil
            if spec.qkNorm {
                queryNorm = try s.norm(a + names.queryNorm, width: hidden, bias: false)
                keyNorm = try s.norm(a + names.keyNorm, width: hidden, bias: false)
            }
            let query: LinearWeights, key: LinearWeights, value: LinearWeights
            switch names.qkv {
            case .split(let q, let k, let v):
                query = try s.linear(a + q, rows: hidden, columns: hidden, bias: spec.qkvBias)
                key = try s.linear(a + k, rows: hidden, columns: hidden, bias: spec.qkvBias)
                value = try s.linear(a + v, rows: hidden, columns: hidden, bias: spec.qkvBias)
            case .fused(let qkv):
                // q, k, v are the thirds of the rows (and of the bias), as the conversion script splits them.
                let rows = try s.vector(a + qkv + ".weight", shape: [3 * hidden, hidden])
                let bias = spec.qkvBias ? try s.vector(a + qkv + ".bias", shape: [3 * hidden]) : nil
                func third(_ i: Int) -> LinearWeights {
                    LinearWeights(weight: WeightMatrix(rows: hidden, columns: hidden, values: Array(rows[(i * hidden * hidden)..<((i + 1) * hidden * hidden)])),
                                  bias: bias.map { Array($0[(i * hidden)..<((i + 1) * hidden)]) })
                }
                (query, key, value) = (third(0), third(1), third(2))
            }
            layers.append(InternViTLayerWeights(
                norm1: try s.norm(l + names.norm1, width: hidden, bias: layerNorm),
                query: query, key: key, value: value,
                queryNorm: queryNorm, keyNorm: keyNorm,
                output: try s.linear(a + names.output, rows: hidden, columns: hidden, bias: true),
                lambda1: try s.vector(l + names.lambda1, shape: [hidden]), lambda2: try s.vector(l + names.lambda2, shape: [hidden]),
                norm2: try s.norm(l + names.norm2, width: hidden, bias: layerNorm),
                fc1: try s.linear(l + names.fc1, rows: spec.intermediateSize, columns: hidden, bias: true),
                fc2: try s.linear(l + names.fc2, rows: hidden, columns: spec.intermediateSize, bias: true)))
        }
        let kernel = [hidden, spec.channelCount, spec.patchSize, spec.patchSize]
        return InternViTWeights(
            patchEmbedding: LinearWeights(
                weight: try s.matrix(p + names.patchEmbedding + ".weight", rows: hidden, columns: spec.patchLength, shape: kernel),
                bias: try s.vector(p + names.patchEmbedding + ".bias", shape: [hidden])),
            classToken: try s.vector(p + names.classToken, shape: [1, 1, hidden]),
            positionEmbedding: try s.vector(p + names.positions, shape: [1, spec.positionCount, hidden]),
            layers: layers)
    }
}
