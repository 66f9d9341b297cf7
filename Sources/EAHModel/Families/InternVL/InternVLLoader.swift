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

/// How a checkpoint names InternVL's tensors, as data: the three prefixes and the decoder's names
/// (a Qwen2/LLaMA decoder named as transformers names it).
public struct InternVLLayout: Sendable, Equatable {
    public var name: String
    public var vision: String
    public var projector: String
    public var text: Qwen2VLLayout

    static func transformers(name: String, text: String, head: String, vision: String, projector: String) -> InternVLLayout {
        var decoder = Qwen2VLLayout.transformers(name: name, text: text, vision: vision)
        decoder.names[.head] = head
        return InternVLLayout(name: name, vision: vision, projector: projector, text: decoder)
    }

    /// What transformers 5.24's `save_pretrained` writes: `language_model.model.*`,
    /// `language_model.lm_head`, `vision_tower.*`, `multi_modal_projector.*`.
    public static let saved = transformers(name: "internvl-hf", text: "language_model.model.", head: "language_model.lm_head",
                                           vision: "vision_tower.", projector: "multi_modal_projector.")
    /// transformers 5's in-memory names: `model.language_model.*`, `lm_head`, `model.vision_tower.*`,
    /// `model.multi_modal_projector.*`.
    public static let inMemory = transformers(name: "internvl-hf-current", text: "model.language_model.", head: "lm_head",
                                              vision: "model.vision_tower.", projector: "model.multi_modal_projector.")
    public static let all = [saved, inMemory]

    static func detect(_ source: TensorSource) -> InternVLLayout? {
        all.first { source.has($0.vision + "embeddings.cls_token") && source.has($0.text.name(.embedding) + ".weight") }
    }
}

public enum InternVLLoader {
    /// Loads the transformers folder (or safetensors file beside its `config.json`) at `path`.
    public static func load(model path: String) throws(CheckpointError) -> InternVLWeights {
        let configPath = LlavaLoader.configPath(beside: path)
        let json = try LlavaLoader.parseJSON(configPath)
        let config: InternVLConfig
        do throws(ModelProblem) { config = try InternVLConfigReader.read(json) } catch { throw CheckpointError(path: configPath, problem: error) }
        return try load(reader: try Checkpoint.open(path), config: config)
    }

    /// Loads `config`'s model from `reader`, refusing missing, misshapen and unknown tensors.
    public static func load(reader: any CheckpointReader, config: InternVLConfig) throws(CheckpointError) -> InternVLWeights {
        let source = TensorSource(reader)
        guard let layout = InternVLLayout.detect(source) else {
            throw CheckpointError(path: reader.path, problem: ModelProblem.unsupportedLayout(
                "holds no InternVL tensors (vision_tower.embeddings.cls_token with language_model.model.embed_tokens, or their model.* forms)"))
        }
        let s = TrackingSource(source: source)
        let text = try Qwen2VLLoader.textWeights(s, config.text, layout.text)
        let vision = try visionWeights(s, config.vision, layout.vision)
        let p = layout.projector, width = config.shuffledWidth, hidden = config.text.hiddenSize
        let weights = InternVLWeights(
            config: config, vision: vision, projectorNorm: try s.norm(p + "layer_norm", width: width, bias: true),
            projector1: try s.linear(p + "linear_1", rows: hidden, columns: width, bias: true),
            projector2: try s.linear(p + "linear_2", rows: hidden, columns: hidden, bias: true),
            text: text, layout: layout, source: reader)
        let unexpected = reader.tensors.map(\.name).filter { !s.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return weights
    }

    static func visionWeights(_ s: TrackingSource, _ spec: InternViTSpec, _ p: String) throws(CheckpointError) -> InternViTWeights {
        let hidden = spec.hiddenSize, layerNorm = spec.norm == .layerNorm
        var layers: [InternViTLayerWeights] = []
        for n in 0..<spec.layerCount {
            let l = p + "encoder.layer.\(n).", a = l + "attention."
            var queryNorm: NormWeights? = nil, keyNorm: NormWeights? = nil
            if spec.qkNorm {
                queryNorm = try s.norm(a + "q_norm", width: hidden, bias: false)
                keyNorm = try s.norm(a + "k_norm", width: hidden, bias: false)
            }
            layers.append(InternViTLayerWeights(
                norm1: try s.norm(l + "layernorm_before", width: hidden, bias: layerNorm),
                query: try s.linear(a + "q_proj", rows: hidden, columns: hidden, bias: spec.qkvBias),
                key: try s.linear(a + "k_proj", rows: hidden, columns: hidden, bias: spec.qkvBias),
                value: try s.linear(a + "v_proj", rows: hidden, columns: hidden, bias: spec.qkvBias),
                queryNorm: queryNorm, keyNorm: keyNorm,
                output: try s.linear(a + "projection_layer", rows: hidden, columns: hidden, bias: true),
                lambda1: try s.vector(l + "lambda_1", shape: [hidden]), lambda2: try s.vector(l + "lambda_2", shape: [hidden]),
                norm2: try s.norm(l + "layernorm_after", width: hidden, bias: layerNorm),
                fc1: try s.linear(l + "mlp.fc1", rows: spec.intermediateSize, columns: hidden, bias: true),
                fc2: try s.linear(l + "mlp.fc2", rows: hidden, columns: spec.intermediateSize, bias: true)))
        }
        let e = p + "embeddings."
        let kernel = [hidden, spec.channelCount, spec.patchSize, spec.patchSize]
        return InternViTWeights(
            patchEmbedding: LinearWeights(
                weight: try s.matrix(e + "patch_embeddings.projection.weight", rows: hidden, columns: spec.patchLength, shape: kernel),
                bias: try s.vector(e + "patch_embeddings.projection.bias", shape: [hidden])),
            classToken: try s.vector(e + "cls_token", shape: [1, 1, hidden]),
            positionEmbedding: try s.vector(e + "position_embeddings", shape: [1, spec.positionCount, hidden]),
            layers: layers)
    }
}
