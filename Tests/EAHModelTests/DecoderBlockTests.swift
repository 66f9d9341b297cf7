import EAHCheckpoint
import EAHCore
@testable import EAHModel
import EAHTestSupport
import Testing

/// The shared decoder blocks against transformers (tools/make_decoder_fixtures.py).
@Suite struct DecoderBlockTests {
    static func json(_ name: String) throws -> JSONValue {
        try JSONParser.parse(Array(try String(contentsOfFile: Fixtures.path("decoder/" + name), encoding: .utf8).utf8))
    }

    static func floats(_ value: JSONValue?) -> [Float] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { item -> Float? in
            if case .number(let v) = item { return Float(v) }
            if case .integer(let v) = item { return Float(v) }
            return nil
        }
    }

    static func int(_ value: JSONValue?) -> Int {
        if case .integer(let v)? = value { return v }
        return -1
    }

    /// Partial rotary factors rotate the first `headDim·factor` values of every head (Phi-3's
    /// rotate-half, GLM's interleaved), at non-contiguous position ids.
    @Test func ropeMatchesTransformersForPartialAndInterleaved() throws {
        guard case .array(let cases)? = try Self.json("rope_apply.json")["cases"] else { Issue.record("rope_apply.json"); return }
        #expect(cases.count == 4)
        for item in cases {
            guard case .string(let name)? = item["name"], case .string(let style)? = item["style"],
                  case .number(let partial)? = item["partial_rotary_factor"], case .array(let positionValues)? = item["positions"] else {
                Issue.record("bad case"); continue
            }
            let heads = Self.int(item["heads"]), headDim = Self.int(item["head_dim"])
            let positions = positionValues.map { Self.int($0) }
            let rope = RopeParameters(theta: 10000, extra: ["partial_rotary_factor": partial])
            let (inverse, scaling) = RotaryEmbedding.parameters(rope, headDim: headDim, maxPositionEmbeddings: 4096)
            let table = RopeTable(inverseFrequencies: inverse, attentionScaling: scaling, positions: positions,
                                  style: style == "interleaved" ? .interleaved : .rotateHalf)
            var x = Self.floats(item["input"])
            let expected = Self.floats(item["output"])
            #expect(x.count == positions.count * heads * headDim)
            x.withUnsafeMutableBufferPointer { table.apply($0.baseAddress!, rows: positions.count, heads: heads, headDim: headDim, rowStride: heads * headDim) }
            let worst = zip(x, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
            #expect(worst <= 1e-5, "\(name): worst relative error \(worst)")
        }
    }

    /// A sliding window hides keys `window` or more positions back, for a query block that
    /// continues a cache, with grouped KV heads.
    @Test func slidingWindowMatchesTransformers() throws {
        let item = try Self.json("sliding_window.json")
        let window = Self.int(item["window"]), heads = Self.int(item["heads"]), kvHeads = Self.int(item["kv_heads"])
        let headDim = Self.int(item["head_dim"]), keys = Self.int(item["keys"]), queries = Self.int(item["queries"])
        let q = Self.floats(item["q"]), k = Self.floats(item["k"]), v = Self.floats(item["v"])
        let expected = Self.floats(item["output"])
        var output = [Float](repeating: .nan, count: queries * heads * headDim)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                v.withUnsafeBufferPointer { v in
                    output.withUnsafeMutableBufferPointer { out in
                        MultiHeadAttention.compute(
                            queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                            shape: .init(queryCount: queries, keyCount: keys, headCount: heads, kvHeadCount: kvHeads, headDim: headDim),
                            scale: 1 / Float(headDim).squareRoot(), causalStart: keys - queries, window: window, hook: nil, context: nil,
                            output: out.baseAddress!, pool: .shared)
                    }
                }
            }
        }
        #expect(expected.count == output.count)
        let worst = zip(output, expected).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(worst <= 1e-5, "worst relative error \(worst)")
    }
}
