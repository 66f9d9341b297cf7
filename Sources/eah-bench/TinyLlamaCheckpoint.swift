import EAHCheckpoint
import EAHCore
import EAHModel

/// A TinyLlama-1.1B-shaped F16 checkpoint (hidden 2048, 22 layers, 32 heads, 4 KV heads,
/// intermediate 5632, vocab 32000; about 2.2 GB) with deterministic pseudo-random weights.
enum TinyLlamaCheckpoint {
    static let hidden = 2048, layers = 22, kvWidth = 256, intermediate = 5632, vocab = 32000

    static var plans: [TensorPlan] {
        var plans = [TensorPlan(name: "model.embed_tokens.weight", dtype: .f16, shape: [vocab, hidden])]
        for layer in 0..<layers {
            let prefix = "model.layers.\(layer)."
            plans += [
                TensorPlan(name: prefix + "input_layernorm.weight", dtype: .f16, shape: [hidden]),
                TensorPlan(name: prefix + "self_attn.q_proj.weight", dtype: .f16, shape: [hidden, hidden]),
                TensorPlan(name: prefix + "self_attn.k_proj.weight", dtype: .f16, shape: [kvWidth, hidden]),
                TensorPlan(name: prefix + "self_attn.v_proj.weight", dtype: .f16, shape: [kvWidth, hidden]),
                TensorPlan(name: prefix + "self_attn.o_proj.weight", dtype: .f16, shape: [hidden, hidden]),
                TensorPlan(name: prefix + "post_attention_layernorm.weight", dtype: .f16, shape: [hidden]),
                TensorPlan(name: prefix + "mlp.gate_proj.weight", dtype: .f16, shape: [intermediate, hidden]),
                TensorPlan(name: prefix + "mlp.up_proj.weight", dtype: .f16, shape: [intermediate, hidden]),
                TensorPlan(name: prefix + "mlp.down_proj.weight", dtype: .f16, shape: [hidden, intermediate]),
            ]
        }
        plans += [
            TensorPlan(name: "model.norm.weight", dtype: .f16, shape: [hidden]),
            TensorPlan(name: "lm_head.weight", dtype: .f16, shape: [vocab, hidden]),
        ]
        return plans
    }

    /// Streams the checkpoint to `path` in 8 MiB chunks.
    static func write(to path: String) throws(CheckpointError) {
        try writeRandom(plans: plans, to: path)
    }

    /// Streams F16 tensors of `plans` with deterministic pseudo-random values to `path`.
    static func writeRandom(plans: [TensorPlan], to path: String) throws(CheckpointError) {
        let writer = try SafetensorsWriter(path: path, overwrite: false, tensors: plans)
        var state: UInt64 = 0x9e37_79b9_7f4a_7c15
        let chunkElements = 4 << 20
        let chunk = UnsafeMutableBufferPointer<UInt16>.allocate(capacity: chunkElements)
        defer { chunk.deallocate() }
        for plan in writer.writeOrder {
            var left = plan.byteCount! / 2
            while left > 0 {
                let count = min(left, chunkElements)
                for index in 0..<count {
                    // xorshift64 into F16 bit patterns: finite values of magnitude 2^-7 to 2^-3.
                    state ^= state << 13; state ^= state >> 7; state ^= state << 17
                    chunk[index] = UInt16(truncatingIfNeeded: 0x2000 | (state & 0x8fff))
                }
                try writer.write(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: chunk[0..<count])))
                left -= count
            }
        }
        try writer.finish()
    }

    /// The decoder configuration matching `plans`.
    static var config: LlamaConfig {
        LlamaConfig(hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, headCount: 32, kvHeadCount: 4, headDim: 64,
                    vocabSize: vocab, rmsNormEps: 1e-5, maxPositionEmbeddings: 2048, rope: RopeParameters(theta: 10000))
    }

    /// Parameters in the matrices a prefill multiplies by (the embedding is a lookup).
    static var matrixParameters: Int {
        plans.filter { $0.shape.count == 2 && $0.name != "model.embed_tokens.weight" }.reduce(0) { $0 + $1.shape[0] * $1.shape[1] }
    }

    /// How the checkpoint names its tensors: transformers' names (the safetensors file and its
    /// eah-convert GGUF) or llama.cpp's (tools/make_bench_models.py and llama-quantize output).
    enum Naming {
        case transformers, llamaCpp

        func name(_ transformersName: String) -> String {
            guard self == .llamaCpp else { return transformersName }
            let table = [
                "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight", "lm_head.weight": "output.weight",
                "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
                "self_attn.o_proj": "attn_output", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
                "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
            ]
            if let whole = table[transformersName] { return whole }
            // model.layers.N.<part>.weight
            let parts = transformersName.split(separator: ".", maxSplits: 3).map(String.init)
            let part = String(parts[3].dropLast(".weight".count))
            return "blk.\(parts[2]).\(table[part] ?? part).weight"
        }
    }

    /// The decoder weights of the benchmark checkpoint (safetensors, its GGUF conversion or a
    /// llama.cpp-named GGUF), pointing into the file, or decoded to F32 when `dequantize`.
    static func weights(from reader: any CheckpointReader, dequantize: Bool, naming: Naming = .transformers,
                        layerCount: Int = layers) throws(CheckpointError) -> LlamaWeights {
        func matrix(_ name: String) throws(CheckpointError) -> WeightMatrix {
            let name = naming.name(name)
            guard let tensor = reader.tensor(named: name), tensor.shape.count == 2 else {
                throw CheckpointError(path: reader.path, problem: ModelProblem.missingTensors([name]))
            }
            let bytes = try reader.bytes(of: tensor)
            do throws(ConversionError) {
                let matrix = try bytes.withUnsafeBytes { raw throws(ConversionError) in
                    try WeightMatrix(rows: tensor.shape[0], columns: tensor.shape[1], dtype: tensor.dtype, data: raw, owner: reader)
                }
                return dequantize ? try matrix.dequantized() : matrix
            } catch {
                throw CheckpointError(path: reader.path, problem: FileProblem.system("\(name): \(error)"))
            }
        }
        func vector(_ name: String) throws(CheckpointError) -> NormWeights {
            let name = naming.name(name)
            guard let tensor = reader.tensor(named: name) else {
                throw CheckpointError(path: reader.path, problem: ModelProblem.missingTensors([name]))
            }
            let bytes = try reader.bytes(of: tensor)
            var values = [Float](repeating: 0, count: tensor.elementCount)
            let result: Result<Void, ConversionError> = values.withUnsafeMutableBufferPointer { out in
                bytes.withUnsafeBytes { raw in Result { () throws(ConversionError) in try Dequantizer.toFloat32(raw, type: tensor.dtype, into: out) } }
            }
            guard case .success = result else {
                throw CheckpointError(path: reader.path, problem: FileProblem.system("\(name): cannot decode"))
            }
            return NormWeights(weight: values)
        }
        var layerWeights: [LlamaLayerWeights] = []
        for layer in 0..<layerCount {
            let prefix = "model.layers.\(layer)."
            layerWeights.append(LlamaLayerWeights(
                inputNorm: try vector(prefix + "input_layernorm.weight"),
                query: LinearWeights(weight: try matrix(prefix + "self_attn.q_proj.weight")),
                key: LinearWeights(weight: try matrix(prefix + "self_attn.k_proj.weight")),
                value: LinearWeights(weight: try matrix(prefix + "self_attn.v_proj.weight")),
                output: LinearWeights(weight: try matrix(prefix + "self_attn.o_proj.weight")),
                postAttentionNorm: try vector(prefix + "post_attention_layernorm.weight"),
                gate: LinearWeights(weight: try matrix(prefix + "mlp.gate_proj.weight")),
                up: LinearWeights(weight: try matrix(prefix + "mlp.up_proj.weight")),
                down: LinearWeights(weight: try matrix(prefix + "mlp.down_proj.weight"))))
        }
        return LlamaWeights(embedTokens: try matrix("model.embed_tokens.weight"), layers: layerWeights,
                            norm: try vector("model.norm.weight"), lmHead: try matrix("lm_head.weight"))
    }
}
