import EAHCore
import EAHModel
import EAHTestSupport
import Testing

/// A LLaMA decoder with quantized weights (Q4_0, and Q4_K_M's mix of Q4_K and Q6_K) against the
/// same model with every matrix decoded to F32 (`Dequantizer`, bit-exact to gguf-py).
///
/// The weights are identical, so the difference comes only from quantizing activations to Q8_0 /
/// Q8_K before each product (as llama.cpp does): at most half a step (amax/254) per element,
/// i.e. about 0.2% per product, compounded over the layers. Bound: max |Δlogit| ≤ 0.05·(1 + max
/// |logit|) over prefill and decode positions, and the same greedy tokens. A wrong block, scale
/// or row moves logits by their whole size.
@Suite struct QuantizedModelTests {
    static let config = LlamaConfig(hiddenSize: 256, intermediateSize: 512, layerCount: 2, headCount: 4, kvHeadCount: 2, headDim: 64,
                                    vocabSize: 300, rmsNormEps: 1e-5, maxPositionEmbeddings: 128, rope: RopeParameters(theta: 10000))

    /// A random rows × columns matrix: floats quantized by `Quantizer` (Q4_0) or random blocks
    /// with moderate scales (K types, whose quantizer ggml-only).
    static func matrix(_ dtype: DType, rows: Int, columns: Int, random: inout SplitMix64) throws -> WeightMatrix {
        let storage = OwnedTestBytes(count: dtype.byteCount(elements: rows * columns)!)
        switch dtype {
        case .q4_0, .f32:
            let values = (0..<(rows * columns)).map { _ in Float.random(in: -0.1...0.1, using: &random) }
            try values.withUnsafeBufferPointer { try Quantizer.fromFloat32($0, to: dtype, into: storage.buffer) }
        case .q4_K, .q6_K:
            for index in 0..<storage.buffer.count { storage.buffer[index] = UInt8.random(in: 0...255, using: &random) }
            let blockBytes = dtype.blockBits / 8
            for block in 0..<(storage.buffer.count / blockBytes) {
                let base = block * blockBytes
                let scale = Float16Bits.fromFloat(Float.random(in: 0.0005...0.002, using: &random))
                // Q4_K: d @0 and dmin @2 (dmin smaller, so the rows are not all offset); Q6_K: d @208.
                let offsets = dtype == .q4_K ? [0, 2] : [208]
                for (i, offset) in offsets.enumerated() {
                    let value = i == 0 ? scale : Float16Bits.fromFloat(Float16Bits.toFloat(scale) / 4)
                    storage.buffer[base + offset] = UInt8(value & 0xff)
                    storage.buffer[base + offset + 1] = UInt8(value >> 8)
                }
            }
        default:
            preconditionFailure("not used")
        }
        return try WeightMatrix(rows: rows, columns: columns, dtype: dtype, data: UnsafeRawBufferPointer(storage.buffer), owner: storage)
    }

    /// Q4_K_M's choice: Q6_K for the value and down projections and the output, Q4_K elsewhere;
    /// or `base` everywhere.
    static func weights(mix: Bool, base: DType) throws -> LlamaWeights {
        var random = SplitMix64(seed: mix ? 11 : 12)
        let c = config, kv = c.kvHeadCount * c.headDim
        func m(_ dtype: DType, _ rows: Int, _ columns: Int) throws -> LinearWeights {
            LinearWeights(weight: try matrix(dtype, rows: rows, columns: columns, random: &random))
        }
        let heavy: DType = mix ? .q6_K : base
        let norm = NormWeights(weight: [Float](repeating: 1, count: c.hiddenSize))
        let layers = try (0..<c.layerCount).map { _ in
            LlamaLayerWeights(inputNorm: norm, query: try m(base, c.hiddenSize, c.hiddenSize), key: try m(base, kv, c.hiddenSize),
                              value: try m(heavy, kv, c.hiddenSize), output: try m(base, c.hiddenSize, c.hiddenSize),
                              postAttentionNorm: norm, gate: try m(base, c.intermediateSize, c.hiddenSize),
                              up: try m(base, c.intermediateSize, c.hiddenSize), down: try m(heavy, c.hiddenSize, c.intermediateSize))
        }
        return LlamaWeights(embedTokens: try matrix(base, rows: c.vocabSize, columns: c.hiddenSize, random: &random), layers: layers,
                            norm: norm, lmHead: try matrix(heavy, rows: c.vocabSize, columns: c.hiddenSize, random: &random))
    }

    static func dequantized(_ weights: LlamaWeights) throws -> LlamaWeights {
        func f(_ linear: LinearWeights) throws -> LinearWeights { LinearWeights(weight: try linear.weight.dequantized(), bias: linear.bias) }
        let layers = try weights.layers.map { l in
            LlamaLayerWeights(inputNorm: l.inputNorm, query: try f(l.query), key: try f(l.key), value: try f(l.value), output: try f(l.output),
                              postAttentionNorm: l.postAttentionNorm, gate: try f(l.gate), up: try f(l.up), down: try f(l.down))
        }
        return LlamaWeights(embedTokens: try weights.embedTokens.dequantized(), layers: layers, norm: weights.norm,
                            lmHead: try weights.lmHead.dequantized())
    }

    /// Logits of a 23-token prompt and 6 greedy steps, and the greedy tokens.
    static func run(_ weights: LlamaWeights) -> (logits: [Float], tokens: [Int]) {
        let model = LlamaTextModel(config: config, weights: weights)
        let prompt = (0..<23).map { ($0 * 37 + 5) % config.vocabSize }
        var logits = model.forward(prompt)
        var all = logits, tokens: [Int] = []
        for _ in 0..<6 {
            let last = Array(logits.suffix(config.vocabSize))
            let next = last.indices.max { last[$0] < last[$1] }!
            tokens.append(next)
            logits = model.forward([next])
            all += logits
        }
        return (all, tokens)
    }

    @Test("Q4_0 and Q4_K_M decoders stay within 0.05·(1 + max |logit|) of their F32 decoding", arguments: ["Q4_0", "Q4_K_M"])
    func matchesDequantizedModel(_ name: String) throws {
        let quantized = try Self.weights(mix: name == "Q4_K_M", base: name == "Q4_0" ? .q4_0 : .q4_K)
        #expect(quantized.layers[0].query.weight.dtype == (name == "Q4_0" ? .q4_0 : .q4_K))
        let reference = Self.run(try Self.dequantized(quantized))
        let actual = Self.run(quantized)
        let scale = 1 + (reference.logits.map { abs($0) }.max() ?? 0)
        let worst = zip(actual.logits, reference.logits).map { abs($0 - $1) }.max() ?? .infinity
        #expect(actual.logits.count == reference.logits.count)
        #expect(worst <= 0.05 * scale, "max |Δlogit| = \(worst), max |logit| + 1 = \(scale)")
        #expect(actual.tokens == reference.tokens)
    }
}

/// Bytes a test-made `WeightMatrix` points into.
final class OwnedTestBytes: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer

    init(count: Int) {
        buffer = .allocate(byteCount: count, alignment: 64)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }
}
