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

/// How a checkpoint names Qwen2-VL's text tensors: as the hub holds them (and 5.24's
/// `save_pretrained` writes them), as transformers 5 holds them in memory, or as llama.cpp's GGUF
/// (`qwen2vl` architecture, rows in Hugging Face order) does. Data, not code: `{n}` is the layer.
public struct Qwen2VLLayout: Sendable, Equatable {
    public enum Role: Sendable, Hashable, CaseIterable {
        case embedding, finalNorm, head
        case inputNorm, query, key, value, output, postAttentionNorm, gate, up, down
    }

    public var name: String
    /// Linear and norm names without `.weight` / `.bias`.
    public var names: [Role: String]
    /// Prefix of the vision tower's transformers names (nil: the vision tower is an mmproj).
    public var vision: String?

    public func name(_ role: Role, layer: Int = 0) -> String {
        let pattern = names[role]!
        guard let marker = pattern.firstRange(of: "{n}") else { return pattern }
        return pattern[..<marker.lowerBound] + String(layer) + pattern[marker.upperBound...]
    }

    static func transformers(name: String, text p: String, vision: String) -> Qwen2VLLayout {
        let l = p + "layers.{n}."
        return Qwen2VLLayout(name: name, names: [
            .embedding: p + "embed_tokens", .finalNorm: p + "norm", .head: "lm_head",
            .inputNorm: l + "input_layernorm", .query: l + "self_attn.q_proj", .key: l + "self_attn.k_proj",
            .value: l + "self_attn.v_proj", .output: l + "self_attn.o_proj", .postAttentionNorm: l + "post_attention_layernorm",
            .gate: l + "mlp.gate_proj", .up: l + "mlp.up_proj", .down: l + "mlp.down_proj",
        ], vision: vision)
    }

    /// `model.*`, `visual.*`, `lm_head.weight`.
    public static let hub = transformers(name: "qwen2-vl-hf", text: "model.", vision: "visual.")
    /// `model.language_model.*`, `model.visual.*`, `lm_head.weight`.
    public static let inMemory = transformers(name: "qwen2-vl-hf-current", text: "model.language_model.", vision: "model.visual.")
    /// llama.cpp: `token_embd`, `blk.N.attn_q`, ..., `output_norm`, `output` (absent when tied).
    public static let gguf = Qwen2VLLayout(name: "llama.cpp-qwen2vl", names: [
        .embedding: "token_embd", .finalNorm: "output_norm", .head: "output",
        .inputNorm: "blk.{n}.attn_norm", .query: "blk.{n}.attn_q", .key: "blk.{n}.attn_k", .value: "blk.{n}.attn_v",
        .output: "blk.{n}.attn_output", .postAttentionNorm: "blk.{n}.ffn_norm", .gate: "blk.{n}.ffn_gate", .up: "blk.{n}.ffn_up",
        .down: "blk.{n}.ffn_down",
    ], vision: nil)
    public static let transformersLayouts = [hub, inMemory]

    /// The transformers layout whose embedding and patch embedding the checkpoint holds.
    static func detect(_ source: TensorSource) -> Qwen2VLLayout? {
        transformersLayouts.first { source.has($0.name(.embedding) + ".weight") && source.has($0.vision! + "patch_embed.proj.weight") }
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
        let tracked = TrackingSource(source: source)
        let text = try textWeights(tracked, config.text, layout)
        let vision = try visionWeights(tracked, config.vision, layout.vision!)
        let unexpected = reader.tensors.map(\.name).filter { !tracked.used.contains($0) }
        if !unexpected.isEmpty { throw CheckpointError(path: reader.path, problem: ModelProblem.unexpectedTensors(unexpected)) }
        return Qwen2VLWeights(config: config, vision: vision, text: text, layout: layout, source: reader)
    }

    static func textWeights(_ s: TrackingSource, _ spec: DecoderSpec, _ layout: Qwen2VLLayout) throws(CheckpointError) -> LlamaWeights {
        let hidden = spec.hiddenSize, a = spec.attention
        let qWidth = a.headCount * a.headDim, kvWidth = a.kvHeadCount * a.headDim
        var layers: [LlamaLayerWeights] = []
        for n in 0..<spec.layerCount {
            func name(_ role: Qwen2VLLayout.Role) -> String { layout.name(role, layer: n) }
            layers.append(LlamaLayerWeights(
                inputNorm: try s.norm(name(.inputNorm), width: hidden, bias: false),
                query: try s.linear(name(.query), rows: qWidth, columns: hidden, bias: a.queryBias),
                key: try s.linear(name(.key), rows: kvWidth, columns: hidden, bias: a.keyBias),
                value: try s.linear(name(.value), rows: kvWidth, columns: hidden, bias: a.valueBias),
                output: try s.linear(name(.output), rows: hidden, columns: qWidth, bias: a.outputBias),
                postAttentionNorm: try s.norm(name(.postAttentionNorm), width: hidden, bias: false),
                gate: try s.linear(name(.gate), rows: spec.intermediateSize, columns: hidden, bias: false),
                up: try s.linear(name(.up), rows: spec.intermediateSize, columns: hidden, bias: false),
                down: try s.linear(name(.down), rows: hidden, columns: spec.intermediateSize, bias: false)))
        }
        let embed = try s.matrix(layout.name(.embedding) + ".weight", rows: spec.vocabSize, columns: hidden)
        // A tied checkpoint may still hold the head (transformers writes lm_head only when untied).
        let headName = layout.name(.head) + ".weight"
        let head = spec.tiedHead && !s.has(headName) ? embed : try s.matrix(headName, rows: spec.vocabSize, columns: hidden)
        return LlamaWeights(embedTokens: embed, layers: layers, norm: try s.norm(layout.name(.finalNorm), width: hidden, bias: false), lmHead: head)
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

    func vector(_ name: String, shape: [Int]) throws(CheckpointError) -> [Float] {
        used.insert(name)
        return try source.vector(name, shape: shape)
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
