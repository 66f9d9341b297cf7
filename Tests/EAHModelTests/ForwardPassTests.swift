import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// The forward pass against transformers' eager attention, for every checkpoint layout in
/// `Tests/Fixtures/llava` (made by tools/make_llava_fixtures.py).
@Suite("forward pass vs transformers")
struct ForwardPassTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let folder: String
        var visionTower: String? = nil
        var mmproj: String? = nil
        var expected = "expected.safetensors"
        /// Original LLaVA and GGUF prompts mark the image with a single -200.
        var usesImageMarker = false
        /// Bound on max |Δlogit| / (1 + |logit|) against transformers.
        var tolerance: Float = 1e-4
        var testDescription: String { "\(model)/\(folder)" + (visionTower.map { " + \($0)" } ?? "") + (mmproj.map { " + \($0)" } ?? "") }
    }

    static let cases: [Case] = [
        Case(model: "m1-gqa-bias", folder: "hf-save"),
        Case(model: "m1-gqa-bias", folder: "hf-current"),
        Case(model: "m1-gqa-bias", folder: "hf-current-f16", expected: "expected-f16.safetensors"),
        Case(model: "m1-gqa-bias", folder: "hf-current-bf16", expected: "expected-bf16.safetensors"),
        Case(model: "m1-gqa-bias", folder: "original", visionTower: "clip-vision", usesImageMarker: true),
        Case(model: "m1-gqa-bias", folder: "original", visionTower: "clip-vision-save524", usesImageMarker: true),
        Case(model: "m1-gqa-bias", folder: "gguf/text-f32.gguf", mmproj: "gguf/mmproj-f32.gguf", expected: "expected-gguf-f32.safetensors", usesImageMarker: true),
        Case(model: "m1-gqa-bias", folder: "gguf/text-f16.gguf", mmproj: "gguf/mmproj-f16.gguf", expected: "expected-gguf-f16.safetensors", usesImageMarker: true),
        Case(model: "m1-gqa-bias", folder: "gguf/text-q8_0.gguf", mmproj: "gguf/mmproj-f32.gguf", expected: "expected-gguf-q8_0.safetensors", usesImageMarker: true,
             // Q8_0 weights multiply activations quantized to Q8_0 (as llama.cpp does); on this
             // tiny model (hidden 32) that moves logits by up to 0.057·(1 + |logit|).
             tolerance: 0.1),
        Case(model: "m2-mha-gelu-full-tied", folder: "hf-legacy-safetensors"),
        Case(model: "m2-mha-gelu-full-tied", folder: "hf-legacy-bin"),
        Case(model: "m3-featlist-headdim", folder: "hf-inmemory"),
        Case(model: "m4-defaults", folder: "hf-legacy"),
    ]

    struct Reference {
        let inputIDs: [Int]
        let pixelValues: [Float]
        let logits: [Float]
        let generated: [Int]
    }

    static func reference(_ testCase: Case) throws -> Reference {
        let file = "\(testCase.model)/\(testCase.expected)"
        let ids = try #require(LlavaFixtures.integers(file, "input_ids"))
        let pixels = try #require(LlavaFixtures.floats(file, "pixel_values"))
        let logits = try #require(LlavaFixtures.floats(file, "logits"))
        let generated = try #require(LlavaFixtures.integers(file, "generated"))
        return Reference(inputIDs: ids, pixelValues: pixels, logits: logits, generated: generated)
    }

    static func load(_ testCase: Case) throws -> LlavaModel {
        let base = "\(testCase.model)/"
        let weights = try LlavaLoader.load(
            model: LlavaFixtures.path(base + testCase.folder),
            visionTower: testCase.visionTower.map { LlavaFixtures.path(base + $0) },
            mmproj: testCase.mmproj.map { LlavaFixtures.path(base + $0) })
        return LlavaModel(weights: weights)
    }

    /// The prompt ids as this layout expects them: llava-hf's run of image tokens, or -200.
    static func promptIDs(_ reference: Reference, _ testCase: Case, imageToken: Int) -> [Int] {
        guard testCase.usesImageMarker else { return reference.inputIDs }
        var ids: [Int] = []
        for id in reference.inputIDs {
            if id == imageToken {
                if ids.last != LlavaPrompt.imageIndex { ids.append(LlavaPrompt.imageIndex) }
            } else {
                ids.append(id)
            }
        }
        return ids
    }

    @Test("logits and greedy tokens equal transformers'", arguments: cases)
    func matchesTransformers(_ testCase: Case) throws {
        let reference = try Self.reference(testCase)
        let model = try Self.load(testCase)
        let facts = try #require(LlavaFixtures.imageTokenIndex(testCase.model))
        let prompt = try LlavaPrompt.fromRawIDs(Self.promptIDs(reference, testCase, imageToken: facts), config: model.config)
        #expect(prompt.tokens.count == reference.inputIDs.count)
        let result = try model.generate(prompt: prompt, pixelValues: reference.pixelValues, maxTokens: reference.generated.count,
                                        stopTokens: [], collectLogits: true)
        #expect(result.tokens == reference.generated)
        let logits = try #require(result.logits)
        #expect(logits.count == reference.logits.count)
        var worst: Float = 0
        for (mine, theirs) in zip(logits, reference.logits) {
            worst = max(worst, abs(mine - theirs) / (1 + abs(theirs)))
        }
        #expect(worst <= testCase.tolerance, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    /// F16 and BF16 checkpoints are held to 1e-4 against transformers run on the same rounded
    /// weights (above). Against the F32 model, F16 stays within 2e-2; BF16's 8-bit mantissa
    /// alone moves this model's logits by about 3e-2, so it is not compared that way.
    @Test("F16 weights stay within 2e-2 of the F32 model")
    func halfPrecisionAgainstF32() throws {
        let testCase = Case(model: "m1-gqa-bias", folder: "hf-current-f16")
        let reference = try Self.reference(Case(model: "m1-gqa-bias", folder: "hf-current"))
        let model = try Self.load(testCase)
        let prompt = try LlavaPrompt.fromRawIDs(reference.inputIDs, config: model.config)
        let result = try model.generate(prompt: prompt, pixelValues: reference.pixelValues, maxTokens: 0, collectLogits: true)
        let logits = try #require(result.logits)
        let promptRows = Array(reference.logits.prefix(logits.count))
        let worst = zip(logits, promptRows).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 2e-2, "max |Δlogit| = \(worst)")
    }

    @Test("decoding with the KV cache equals recomputing the whole sequence", arguments: [cases[0], cases[9], cases[11]])
    func cacheEqualsRecomputation(_ testCase: Case) throws {
        let reference = try Self.reference(testCase)
        let model = try Self.load(testCase)
        let prompt = try LlavaPrompt.fromRawIDs(reference.inputIDs, config: model.config)
        let cached = try model.generate(prompt: prompt, pixelValues: reference.pixelValues, maxTokens: 6, stopTokens: [], collectLogits: true)
        let full = LlavaPrompt(tokens: prompt.tokens + cached.tokens.dropLast(), imagePositions: prompt.imagePositions)
        let recomputed = try model.generate(prompt: full, pixelValues: reference.pixelValues, maxTokens: 0, collectLogits: true)
        let a = try #require(cached.logits), b = try #require(recomputed.logits)
        #expect(a.count == b.count)
        let worst = zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
        #expect(worst <= 1e-5, "max relative difference \(worst)")
    }

    @Test("-200 and a run of image_token_index ids give the same prompt")
    func imageMarkerExpands() throws {
        let model = try Self.load(Self.cases[0])
        let config = model.config
        let marker = try LlavaPrompt.fromRawIDs([1, 5, LlavaPrompt.imageIndex, 7], config: config)
        let run = try LlavaPrompt.fromRawIDs([1, 5] + [Int](repeating: config.imageTokenIndex, count: config.imageFeatureCount) + [7], config: config)
        #expect(marker == run)
        #expect(marker.imagePositions == Array(2..<(2 + config.imageFeatureCount)))
        #expect(throws: ModelProblem.badInput("input ids must hold one -200 or one run of 4 image_token_index (300) ids, found 3")) {
            try LlavaPrompt.fromRawIDs([1] + [Int](repeating: 300, count: 3), config: config)
        }
        #expect(throws: ModelProblem.badInput("token id 999 at position 0 is outside the vocabulary (0..<320)")) {
            try LlavaPrompt.fromRawIDs([999, LlavaPrompt.imageIndex], config: config)
        }
    }
}
