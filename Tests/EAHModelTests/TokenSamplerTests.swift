@testable import EAHModel
import Testing

/// The sampler's filters, against their definitions in transformers' logits processors
/// (RepetitionPenaltyLogitsProcessor, TopKLogitsWarper, MinPLogitsWarper).
@Suite("token sampler")
struct TokenSamplerTests {
    static func draw(_ logits: [Float], _ parameters: SamplingParameters, times: Int = 1) -> [Int] {
        var sampler = TokenSampler(parameters)
        return (0..<times).map { _ in logits.withUnsafeBufferPointer { sampler.next($0) } }
    }

    @Test("the repetition penalty divides a generated token's positive logit and multiplies a negative one, greedy too")
    func repetitionPenalty() {
        // 2.0 / 1.1 = 1.818 < 1.9: the second step picks token 1, then 1.9 / 1.1 = 1.727 < 1.818: token 0 again.
        #expect(Self.draw([2.0, 1.9, -5], SamplingParameters(repeatPenalty: 1.1), times: 3) == [0, 1, 0])
        // Without the penalty greedy repeats itself.
        #expect(Self.draw([2.0, 1.9, -5], .greedy, times: 3) == [0, 0, 0])
        // A negative logit is multiplied: -0.5 × 3 = -1.5 < -1, so token 1 wins after token 0 was chosen once.
        #expect(Self.draw([-0.5, -1.0], SamplingParameters(repeatPenalty: 3), times: 2) == [0, 1])
    }

    @Test("top-k 1 is argmax whatever the temperature and seed")
    func topK() {
        for seed: UInt64 in 0..<20 {
            #expect(Self.draw([0.1, 3, 2.9, 1], SamplingParameters(temperature: 5, topK: 1, seed: seed)) == [1])
        }
        // top-k 2 never draws outside the two most likely tokens.
        let draws = Self.draw([0.1, 3, 2.9, 1], SamplingParameters(temperature: 5, topK: 2, seed: 3), times: 200)
        #expect(Set(draws) == [1, 2])
    }

    @Test("min-p drops tokens less likely than p times the most likely one")
    func minP() {
        // Probabilities ∝ 1, 0.5, 0.05 (logits ln of them, temperature 1): min-p 0.1 keeps tokens 0 and 1.
        let logits: [Float] = [0, -0.6931472, -2.9957323]
        let kept = Self.draw(logits, SamplingParameters(temperature: 1, minP: 0.1, seed: 11), times: 300)
        #expect(Set(kept) == [0, 1])
        let all = Self.draw(logits, SamplingParameters(temperature: 1, seed: 11), times: 300)
        #expect(Set(all) == [0, 1, 2])
    }
}
