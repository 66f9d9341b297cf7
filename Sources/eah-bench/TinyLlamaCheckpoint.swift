import EAHCheckpoint
import EAHCore

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
}
