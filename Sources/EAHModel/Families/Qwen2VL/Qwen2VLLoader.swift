import EAHCheckpoint
import EAHCore

/// A loaded Qwen2-VL / Qwen2.5-VL model: configuration, weights, and the open checkpoint whose
/// memory map the matrices point into.
public struct Qwen2VLWeights: @unchecked Sendable {
    public var config: Qwen2VLConfig
    public var vision: RotaryViTWeights
    public var text: LlamaWeights
    public var layout: Qwen2VLLayout
    public var source: any CheckpointReader
}

/// How transformers names Qwen2-VL's tensors: as the hub holds them (and 5.24's
/// `save_pretrained` writes them) or as transformers 5 holds them in memory. Data, not code:
/// the loader only prefixes these.
public struct Qwen2VLLayout: Sendable, Equatable {
    public var name: String
    public var text: String
    public var vision: String
    public var head: String

    /// `model.*`, `visual.*`, `lm_head.weight`.
    public static let hub = Qwen2VLLayout(name: "qwen2-vl-hf", text: "model.", vision: "visual.", head: "lm_head.weight")
    /// `model.language_model.*`, `model.visual.*`, `lm_head.weight`.
    public static let inMemory = Qwen2VLLayout(name: "qwen2-vl-hf-current", text: "model.language_model.", vision: "model.visual.",
                                               head: "lm_head.weight")
    public static let all = [hub, inMemory]

    /// The layout whose embedding the checkpoint holds.
    static func detect(_ source: TensorSource) -> Qwen2VLLayout? {
        all.first { source.has($0.text + "embed_tokens.weight") && source.has($0.vision + "patch_embed.proj.weight") }
    }
}

public enum Qwen2VLLoader {
    /// Loads the transformers folder (or safetensors file beside its `config.json`) at `path`.
    public static func load(model path: String) throws(CheckpointError) -> Qwen2VLWeights {
        let configPath = LlavaLoader.configPath(beside: path)
        let json = try LlavaLoader.parseJSON(configPath)
        let config: Qwen2VLConfig
        do throws(ModelProblem) { config = try Qwen2VLConfigReader.read(json) } catch { throw CheckpointError(path: configPath, problem: error) }
        return try load(reader: try Checkpoint.open(path), config: config)
    }

    /// Loads the tensors of `config`'s model from `reader`, refusing missing, misshapen and
    /// unknown tensors.
    public static func load(reader: any CheckpointReader, config: Qwen2VLConfig) throws(CheckpointError) -> Qwen2VLWeights {
        let source = TensorSource(reader)
        guard let layout = Qwen2VLLayout.detect(source) else {
            throw CheckpointError(path: reader.path, problem: ModelProblem.unsupportedLayout(
                "holds no Qwen2-VL tensors (model.embed_tokens and visual.patch_embed, or their model.language_model / model.visual forms)"))
        }
        var used = Set<String>()
        let tracked = TrackingSource(source: source)
        let text = try textWeights(tracked, config.text, layout)
        let vision = try visionWeights(tracked, config.vision, layout.vision)
        used = tracked.used
        let unexpected = reader.tensors.map(\.name).filter { !used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return Qwen2VLWeights(config: config, vision: vision, text: text, layout: layout, source: reader)
    }

    static func textWeights(_ s: TrackingSource, _ spec: DecoderSpec, _ layout: Qwen2VLLayout) throws(CheckpointError) -> LlamaWeights {
        let hidden = spec.hiddenSize, a = spec.attention, p = layout.text
        let qWidth = a.headCount * a.headDim, kvWidth = a.kvHeadCount * a.headDim
        var layers: [LlamaLayerWeights] = []
        for layer in 0..<spec.layerCount {
            let l = p + "layers.\(layer)."
            layers.append(LlamaLayerWeights(
                inputNorm: try s.norm(l + "input_layernorm", width: hidden, bias: false),
                query: try s.linear(l + "self_attn.q_proj", rows: qWidth, columns: hidden, bias: a.queryBias),
                key: try s.linear(l + "self_attn.k_proj", rows: kvWidth, columns: hidden, bias: a.keyBias),
                value: try s.linear(l + "self_attn.v_proj", rows: kvWidth, columns: hidden, bias: a.valueBias),
                output: try s.linear(l + "self_attn.o_proj", rows: hidden, columns: qWidth, bias: a.outputBias),
                postAttentionNorm: try s.norm(l + "post_attention_layernorm", width: hidden, bias: false),
                gate: try s.linear(l + "mlp.gate_proj", rows: spec.intermediateSize, columns: hidden, bias: false),
                up: try s.linear(l + "mlp.up_proj", rows: spec.intermediateSize, columns: hidden, bias: false),
                down: try s.linear(l + "mlp.down_proj", rows: hidden, columns: spec.intermediateSize, bias: false)))
        }
        let embed = try s.matrix(p + "embed_tokens.weight", rows: spec.vocabSize, columns: hidden)
        // A tied checkpoint may still hold lm_head (transformers writes it only when untied).
        let head = spec.tiedHead && !s.has(layout.head) ? embed : try s.matrix(layout.head, rows: spec.vocabSize, columns: hidden)
        return LlamaWeights(embedTokens: embed, layers: layers, norm: try s.norm(p + "norm", width: hidden, bias: false), lmHead: head)
    }

    static func visionWeights(_ s: TrackingSource, _ spec: RotaryViTSpec, _ p: String) throws(CheckpointError) -> RotaryViTWeights {
        let hidden = spec.hiddenSize, layerNorm = spec.norm == .layerNorm
        var layers: [RotaryViTLayerWeights] = []
        for layer in 0..<spec.layerCount {
            let l = p + "blocks.\(layer)."
            let up: LinearWeights, gate: LinearWeights?, down: LinearWeights
            switch spec.mlp {
            case .plain:
                up = try s.linear(l + "mlp.fc1", rows: spec.intermediateSize, columns: hidden, bias: true)
                gate = nil
                down = try s.linear(l + "mlp.fc2", rows: hidden, columns: spec.intermediateSize, bias: true)
            case .gated:
                up = try s.linear(l + "mlp.up_proj", rows: spec.intermediateSize, columns: hidden, bias: true)
                gate = try s.linear(l + "mlp.gate_proj", rows: spec.intermediateSize, columns: hidden, bias: true)
                down = try s.linear(l + "mlp.down_proj", rows: hidden, columns: spec.intermediateSize, bias: true)
            }
            layers.append(RotaryViTLayerWeights(
                norm1: try s.norm(l + "norm1", width: hidden, bias: layerNorm),
                qkv: try s.linear(l + "attn.qkv", rows: 3 * hidden, columns: hidden, bias: true),
                projection: try s.linear(l + "attn.proj", rows: hidden, columns: hidden, bias: true),
                norm2: try s.norm(l + "norm2", width: hidden, bias: layerNorm), up: up, gate: gate, down: down))
        }
        let kernel = [hidden, spec.channelCount, spec.temporalPatchSize, spec.patchSize, spec.patchSize]
        return RotaryViTWeights(
            patchEmbedding: try s.matrix(p + "patch_embed.proj.weight", rows: hidden, columns: spec.patchLength, shape: kernel),
            layers: layers,
            mergerNorm: try s.norm(p + "merger.ln_q", width: hidden, bias: layerNorm),
            mergerLinear1: try s.linear(p + "merger.mlp.0", rows: spec.mergedWidth, columns: spec.mergedWidth, bias: true),
            mergerLinear2: try s.linear(p + "merger.mlp.2", rows: spec.outputSize, columns: spec.mergedWidth, bias: true))
    }
}

/// A `TensorSource` that remembers which names were read, so the loader can refuse the rest.
final class TrackingSource {
    let source: TensorSource
    private(set) var used = Set<String>()

    init(source: TensorSource) { self.source = source }

    func has(_ name: String) -> Bool { source.has(name) }

    func matrix(_ name: String, rows: Int, columns: Int, shape: [Int]? = nil) throws(CheckpointError) -> WeightMatrix {
        used.insert(name)
        return try source.matrix(name, rows: rows, columns: columns, shape: shape)
    }

    func linear(_ name: String, rows: Int, columns: Int, bias: Bool) throws(CheckpointError) -> LinearWeights {
        used.insert(name + ".weight")
        if bias { used.insert(name + ".bias") }
        return try source.linear(name, rows: rows, columns: columns, bias: bias)
    }

    func norm(_ name: String, width: Int, bias: Bool) throws(CheckpointError) -> NormWeights {
        used.insert(name + ".weight")
        if bias { used.insert(name + ".bias") }
        return try source.norm(name, width: width, bias: bias)
    }
}
