#if canImport(Glibc)
import Glibc
#endif

/// Placeholder until the full RoPE-scaling implementation lands: default RoPE only.
enum RotaryEmbedding {
    static func parameters(for config: LlamaConfig) -> (inverseFrequencies: [Float], attentionScaling: Float) {
        let dim = config.headDim
        let base = Float(config.rope.theta)
        let inverse = stride(from: 0, to: dim, by: 2).map { i -> Float in
            1 / Float(pow(Double(base), Double(Float(i) / Float(dim))))
        }
        return (inverse, 1)
    }
}
