import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// eah-run on llama.cpp-quantized text GGUFs against the same model dequantized to F32
/// (tools/make_textonly_gguf_fixtures.py: `llama-quantize` Q4_K_M and Q4_0, gguf-py's
/// `dequantize` of every tensor written back as F32), through the CLI: prompt logits at every
/// position and decode logits at every step.
///
/// Both files hold the same weights exactly, so the only difference is that the quantized run
/// converts activations to the weights' partner format before each product (ggml's
/// `vec_dot_type`: Q8_0 blocks of 32 for Q4_0, Q8_K blocks of 256 for Q4_K and Q6_K), while the
/// F32 run multiplies them as they are.
///
/// The bound. A block of n activations is scaled by max|x|/127 and rounded: an error uniform in
/// ±max|x|/254, RMS max|x|/(254·√3). With max|x| ≈ 2.5σ (n = 32) or 2.9σ (n = 256) for roughly
/// Gaussian activations that is 0.57 % or 0.66 % of σ per element, and the same fraction of each
/// product's output RMS. A logit sits behind 9 quantized products in series (Q/K/V, O, gate/up
/// and down in each of 2 layers, then the LM head) whose errors add in quadrature on the residual
/// stream: ≈ √9 × 0.6 % ≈ 1.7–2.0 % of the logits' RMS. The test bounds (a) the RMS of all
/// differences relative to the RMS of the reference logits at about 1.5× that prediction (Q4_0
/// 3 %, Q4_K_M 3.5 %; measured 1.79 % and 2.45 %: the K-quant model has the coarser Q8_K blocks),
/// and (b) every single logit's difference relative to its row's RMS, the guard against one
/// wrong row (Gaussian errors of that RMS reach ≈ 4σ over the 19 × 301 entries: 0.15 and 0.2;
/// measured 0.094 and 0.113). The greedy tokens must agree.
///
/// Not loose enough to hide a wrong kernel (checked by hand on copies of the fixtures with one
/// block perturbed, as a kernel mis-decoding it would): one Q4_K sub-block scale of a token
/// embedding row, two Q4_K sub-blocks swapped in blk.0.ffn_down, or one Q6_K scale of an LM head
/// row negated break (b) (0.67 to 5.0); one Q4_0 block scale negated in blk.0.ffn_gate breaks
/// both (3.6 %, 0.187). A single block deep in the last layer can stay under both (its effect is
/// below the activation rounding): the per-type kernel tests cover blocks one by one.
@Suite("eah-run on Q4_K_M and Q4_0 GGUFs against their F32 dequantization")
struct QuantizedLogitsTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let type: String
        /// Bound on RMS(quantized − reference) / RMS(reference) over every logit.
        let rmsBound: Float
        /// Bound on each |quantized − reference| / RMS(its reference row).
        let entryBound: Float
        var testDescription: String { type }
    }

    static let cases = [Case(type: "q4_0", rmsBound: 0.03, entryBound: 0.15), Case(type: "q4_k_m", rmsBound: 0.035, entryBound: 0.2)]
    static let vocab = 301
    static let prompt = [1, 17, 260, 5, 42, 9, 300, 3, 28, 11, 131, 77, 200, 64]
    static let newTokens = 6

    /// eah-run --input-ids: the greedy tokens and every logits row (prompt positions, then decode steps).
    static func run(_ model: String) throws -> (tokens: [Int], logits: [Float]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [model, "--input-ids", prompt.map(String.init).joined(separator: ","),
                                                      "--max-tokens", String(newTokens), "--logits-out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard case .array(let items)? = document["tokens"] else {
            Issue.record("no tokens in \(result.stdout)")
            return ([], [])
        }
        let tokens = items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        let logits = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (tokens, logits)
    }

    /// RMS(quantized − reference) / RMS(reference), and the largest |quantized − reference| over
    /// its reference row's RMS.
    static func differences(_ quantized: [Float], _ reference: [Float]) -> (rms: Float, entry: Float) {
        guard quantized.count == reference.count, !reference.isEmpty, reference.count % vocab == 0 else { return (.infinity, .infinity) }
        var entry: Float = 0, squaredDifference: Float = 0, squaredReference: Float = 0
        for start in stride(from: 0, to: reference.count, by: vocab) {
            let row = reference[start..<(start + vocab)]
            let rowSquares = row.reduce(0) { $0 + $1 * $1 }
            let rms = (rowSquares / Float(vocab)).squareRoot()
            squaredReference += rowSquares
            for i in start..<(start + vocab) {
                let difference = quantized[i] - reference[i]
                squaredDifference += difference * difference
                entry = max(entry, abs(difference) / rms)
            }
        }
        return ((squaredDifference / squaredReference).squareRoot(), entry)
    }

    @Test("prompt and decode logits within the activation-quantization bound", arguments: cases)
    func matchesDequantized(_ test: Case) throws {
        let quantized = try Self.run(Fixtures.path("textonly/quant/tiny-llama-\(test.type).gguf"))
        let reference = try Self.run(Fixtures.path("textonly/quant/tiny-llama-\(test.type)-f32.gguf"))
        #expect(reference.tokens.count == Self.newTokens)
        #expect(quantized.tokens == reference.tokens)
        // Every prompt position, then every decode step but the last.
        #expect(reference.logits.count == (Self.prompt.count + Self.newTokens - 1) * Self.vocab)
        let (rms, entry) = Self.differences(quantized.logits, reference.logits)
        #expect(rms <= test.rmsBound, "RMS of the differences / RMS of the logits: \(rms)")
        #expect(entry <= test.entryBound, "largest difference / its row's RMS: \(entry)")
    }
}
