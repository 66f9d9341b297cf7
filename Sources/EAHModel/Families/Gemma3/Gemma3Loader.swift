import EAHCheckpoint
import EAHCore

/// Gemma 3's multimodal projector: average-pool the tower's patch grid to `tokensPerImage`,
/// RMSNorm (1 + w, the tower's eps), then `× mm_input_projection_weight` ([vision, text], stored
/// as a matrix, not a Linear: held transposed here).
public struct Gemma3ProjectorWeights: Sendable {
    /// `mm_soft_emb_norm` [vision hidden] as stored; the scale is it plus `softEmbeddingNormOffset`.
    public var softEmbeddingNorm: [Float]
    /// text hidden × vision hidden (the transpose of `mm_input_projection_weight`).
    public var projection: WeightMatrix
    /// 1 for transformers' raw w; 0 for llama.cpp, which stores w + 1.
    public var softEmbeddingNormOffset: Float = 1
}

/// A loaded Gemma 3: configuration, weights, and the open checkpoint the matrices map into.
public struct Gemma3Weights: @unchecked Sendable {
    public var config: Gemma3Config
    public var vision: CLIPVisionWeights
    public var projector: Gemma3ProjectorWeights
    public var text: LlamaWeights
    public var layout: Gemma3Layout
    public var source: any CheckpointReader
}

/// How a checkpoint names Gemma 3's tensors: transformers as the hub holds them (and 5.24's
/// `save_pretrained` writes them) or as transformers 5 holds them in memory (prefixes over
/// transformers' names), or llama.cpp's pair (`Gemma3LlamaCppNames`). Data: prefixes and tables.
public struct Gemma3Layout: Sendable, Equatable {
    public var name: String
    /// Prefix of the text model (`…embed_tokens`, `…layers.N.…`, `…norm`).
    public var text: String
    /// Candidate names of an untied head, in order.
    public var heads: [String]
    /// Prefixes of the SigLIP tower (with or without the `vision_model.` level); the loader keeps
    /// the one the checkpoint uses first.
    public var visions: [String]
    public var projector: String
    /// llama.cpp's names instead of prefixes over transformers' (its norms stored as w + 1).
    public var llamaCpp = false

    public static let hub = Gemma3Layout(name: WeightLayout.llavaHF.rawValue, text: "language_model.model.",
                                         heads: ["language_model.lm_head.weight", "lm_head.weight"],
                                         visions: ["vision_tower.vision_model.", "vision_tower."], projector: "multi_modal_projector.")
    public static let inMemory = Gemma3Layout(name: WeightLayout.llavaHFCurrent.rawValue, text: "model.language_model.", heads: ["lm_head.weight"],
                                              visions: ["model.vision_tower.vision_model.", "model.vision_tower."],
                                              projector: "model.multi_modal_projector.")
    public static let llamaCppPair = Gemma3Layout(name: WeightLayout.llamaCppText.rawValue, text: "", heads: ["output.weight"], visions: [""],
                                                  projector: "", llamaCpp: true)

    /// The stored name of a transformers key of `part` (relative to its prefix, as
    /// `Gemma3LlamaCppNames` keys are).
    func name(_ part: Gemma3LlamaCppNames.Part, _ key: String) -> String {
        if llamaCpp { return Gemma3LlamaCppNames.name(part, key) }
        switch part {
        case .text: return text + key
        case .vision: return visions[0] + key
        case .projector: return projector + key
        }
    }

    /// `layers.N.<suffix>` of the text model.
    func layer(_ n: Int, _ suffix: String) -> String { name(.text, "layers.\(n)." + suffix) }
}

public enum Gemma3Loader {
    /// Loads Gemma 3 from `reader` (a transformers layout), refusing missing, misshapen and
    /// unknown tensors; SigLIP's pooling head (`head.*`), which Gemma 3 never runs, is allowed.
    public static func load(reader: any CheckpointReader, config: Gemma3Config) throws(CheckpointError) -> Gemma3Weights {
        let source = TensorSource(reader)
        guard var layout = [Gemma3Layout.hub, .inMemory].first(where: { source.has($0.text + "embed_tokens.weight") }),
              let vision = layout.visions.first(where: { source.has($0 + "embeddings.patch_embedding.weight") }) else {
            throw CheckpointError(path: reader.path, problem: ModelProblem.unsupportedLayout(
                "holds no Gemma 3 tensors (language_model.model.embed_tokens and vision_tower.*.embeddings.patch_embedding, or their model.* forms)"))
        }
        layout.visions = [vision]
        let tracked = TrackingSource(source: source)
        let text = try textWeights(tracked, config.text, layout)
        let tower = try visionWeights(tracked, config.vision, layout)
        let projector = try projectorWeights(tracked, config, layout)
        let unused = vision + "head."
        let unexpected = reader.tensors.map(\.name).filter { !tracked.used.contains($0) && !$0.hasPrefix(unused) }
        if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return Gemma3Weights(config: config, vision: tower, projector: projector, text: text, layout: layout, source: reader)
    }

    /// Loads llama.cpp's pair: the `gemma3` text GGUF (read through `text`, which may lay a
    /// bundle's original rows over it) and the `gemma3` mmproj, refusing missing, misshapen and
    /// unknown tensors. Norms stay as stored (w + 1): the config's decoder takes them as they are.
    public static func load(llamaCpp text: any CheckpointReader, mmproj: any CheckpointReader) throws(CheckpointError) -> Gemma3Weights {
        let config = try Gemma3LlamaCppNames.config(text: text, mmproj: mmproj)
        let layout = Gemma3Layout.llamaCppPair
        let textSource = TrackingSource(source: TensorSource(text))
        let textWeights = try textWeights(textSource, config.text, layout)
        let unexpectedText = text.tensors.map(\.name).filter { !textSource.used.contains($0) }
        if !unexpectedText.isEmpty { throw CheckpointError(path: text.path, problem: ModelProblem.unexpectedTensors(unexpectedText)) }
        let visionSource = TrackingSource(source: TensorSource(mmproj))
        let tower = try visionWeights(visionSource, config.vision, layout)
        var projector = try projectorWeights(visionSource, config, layout)
        projector.softEmbeddingNormOffset = 0
        let unexpected = mmproj.tensors.map(\.name).filter { !visionSource.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: mmproj.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return Gemma3Weights(config: config, vision: tower, projector: projector, text: textWeights, layout: layout, source: text)
    }

    /// The soft-embedding norm and the projection (`[vision, text]` as stored, held transposed).
    static func projectorWeights(_ s: TrackingSource, _ config: Gemma3Config, _ layout: Gemma3Layout) throws(CheckpointError) -> Gemma3ProjectorWeights {
        let v = config.vision.hiddenSize, hidden = config.text.hiddenSize
        let projection = try s.vector(layout.name(.projector, "mm_input_projection_weight"), shape: [v, hidden])
        var transposed = [Float](repeating: 0, count: v * hidden)
        for i in 0..<v { for j in 0..<hidden { transposed[j * v + i] = projection[i * hidden + j] } }
        return Gemma3ProjectorWeights(
            softEmbeddingNorm: try s.vector(layout.name(.projector, "mm_soft_emb_norm.weight"), shape: [v]),
            projection: WeightMatrix(rows: hidden, columns: v, values: transposed))
    }

    static func textWeights(_ s: TrackingSource, _ spec: DecoderSpec, _ layout: Gemma3Layout) throws(CheckpointError) -> LlamaWeights {
        let hidden = spec.hiddenSize, a = spec.attention
        let qWidth = a.headCount * a.headDim, kvWidth = a.kvHeadCount * a.headDim
        var layers: [LlamaLayerWeights] = []
        for n in 0..<spec.layerCount {
            func name(_ suffix: String) -> String { layout.layer(n, suffix) }
            layers.append(LlamaLayerWeights(
                inputNorm: try s.norm(name("input_layernorm"), width: hidden, bias: false),
                query: try s.linear(name("self_attn.q_proj"), rows: qWidth, columns: hidden, bias: false),
                key: try s.linear(name("self_attn.k_proj"), rows: kvWidth, columns: hidden, bias: false),
                value: try s.linear(name("self_attn.v_proj"), rows: kvWidth, columns: hidden, bias: false),
                output: try s.linear(name("self_attn.o_proj"), rows: hidden, columns: qWidth, bias: false),
                postAttentionNorm: try s.norm(name("pre_feedforward_layernorm"), width: hidden, bias: false),
                gate: try s.linear(name("mlp.gate_proj"), rows: spec.intermediateSize, columns: hidden, bias: false),
                up: try s.linear(name("mlp.up_proj"), rows: spec.intermediateSize, columns: hidden, bias: false),
                down: try s.linear(name("mlp.down_proj"), rows: hidden, columns: spec.intermediateSize, bias: false),
                queryNorm: try s.norm(name("self_attn.q_norm"), width: a.headDim, bias: false),
                keyNorm: try s.norm(name("self_attn.k_norm"), width: a.headDim, bias: false),
                attentionOutputNorm: try s.norm(name("post_attention_layernorm"), width: hidden, bias: false),
                mlpOutputNorm: try s.norm(name("post_feedforward_layernorm"), width: hidden, bias: false)))
        }
        let embed = try s.matrix(layout.name(.text, "embed_tokens.weight"), rows: spec.vocabSize, columns: hidden)
        // transformers writes the head only when untied.
        let stored = layout.heads.first { s.has($0) }
        let head: WeightMatrix
        if let stored {
            head = try s.matrix(stored, rows: spec.vocabSize, columns: hidden)
        } else if spec.tiedHead {
            head = embed
        } else {
            throw CheckpointError(path: s.source.reader.path, problem: ModelProblem.missingTensors([layout.heads[0]]))
        }
        return LlamaWeights(embedTokens: embed, layers: layers, norm: try s.norm(layout.name(.text, "norm"), width: hidden, bias: false), lmHead: head)
    }

    /// SigLIP under `p`: patch convolution with bias, learned positions, every encoder layer and
    /// the post-LayerNorm (Gemma 3 reads `last_hidden_state`).
    static func visionWeights(_ s: TrackingSource, _ config: CLIPVisionConfig, _ layout: Gemma3Layout) throws(CheckpointError) -> CLIPVisionWeights {
        let spec = config.spec, hidden = spec.hiddenSize, patch = spec.patchSize, channels = spec.channelCount
        func p(_ key: String) -> String { layout.name(.vision, key) }
        var layers: [CLIPLayerWeights] = []
        for n in 0..<spec.layerCount {
            func l(_ key: String) -> String { p("encoder.layers.\(n)." + key) }
            layers.append(CLIPLayerWeights(
                layerNorm1: try s.norm(l("layer_norm1"), width: hidden, bias: true),
                query: try s.linear(l("self_attn.q_proj"), rows: hidden, columns: hidden, bias: true),
                key: try s.linear(l("self_attn.k_proj"), rows: hidden, columns: hidden, bias: true),
                value: try s.linear(l("self_attn.v_proj"), rows: hidden, columns: hidden, bias: true),
                output: try s.linear(l("self_attn.out_proj"), rows: hidden, columns: hidden, bias: true),
                layerNorm2: try s.norm(l("layer_norm2"), width: hidden, bias: true),
                fc1: try s.linear(l("mlp.fc1"), rows: spec.intermediateSize, columns: hidden, bias: true),
                fc2: try s.linear(l("mlp.fc2"), rows: hidden, columns: spec.intermediateSize, bias: true)))
        }
        return CLIPVisionWeights(
            classEmbedding: nil,
            patchEmbedding: try s.matrix(p("embeddings.patch_embedding.weight"), rows: hidden, columns: channels * patch * patch,
                                         shape: [hidden, channels, patch, patch]),
            patchBias: try s.vector(p("embeddings.patch_embedding.bias"), shape: [hidden]),
            positionEmbedding: try s.vector(p("embeddings.position_embedding.weight"), shape: [spec.positionCount, hidden]),
            preLayerNorm: nil, layers: layers, postLayerNorm: try s.norm(p("post_layernorm"), width: hidden, bias: true))
    }
}
