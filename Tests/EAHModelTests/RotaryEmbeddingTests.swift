import EAHCheckpoint
@testable import EAHModel
import EAHTestSupport
import Testing

@Suite struct RotaryEmbeddingTests {
    /// Every parameter set of rope.json (dumped from transformers' ROPE_INIT_FUNCTIONS).
    @Test func matchesTransformers() throws {
        guard case .array(let cases) = try fixtureJSON("rope.json") else { Issue.record("rope.json"); return }
        #expect(cases.count >= 8)
        for item in cases {
            guard case .string(let name)? = item["name"], case .integer(let headDim)? = item["head_dim"],
                  case .integer(let maxPositions)? = item["max_position_embeddings"], case .array(let expected)? = item["inv_freq"],
                  let params = item["rope_parameters"] else { Issue.record("bad case"); continue }
            let rope = try LlavaConfigReader.ropeParameters(.object([("rope_parameters", params)]), maxPositionEmbeddings: maxPositions)
            let (inverse, scaling) = RotaryEmbedding.parameters(rope, headDim: headDim, maxPositionEmbeddings: maxPositions)
            let want = expected.compactMap { value -> Float? in
                if case .number(let v) = value { return Float(v) }
                if case .integer(let v) = value { return Float(v) }
                return nil
            }
            #expect(inverse.count == want.count, "\(name)")
            for (got, w) in zip(inverse, want) {
                #expect(abs(got - w) <= 2e-6 * max(abs(w), 1e-30) + 1e-12, "\(name): \(got) vs \(w)")
            }
            var factor: Float = 0
            if case .number(let v)? = item["attention_factor"] { factor = Float(v) } else if case .integer(let v)? = item["attention_factor"] { factor = Float(v) }
            #expect(abs(scaling - factor) <= 1e-6, "\(name) attention factor")
        }
    }
}
