import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// EAH on LLaVA-OneVision against the PyTorch reference (tools/make_llava_onevision_fixtures.py):
/// the sink counts over every image position (base, shrunk tile grid and newline rows), the chosen
/// head, logits and greedy tokens of dynamic selection and of a static head in every phase.
@Suite struct OnevisionEAHTests {
    static let model = "../llava-onevision/tiny-llava-onevision-hf"

    static func file(_ image: String) -> String { "../llava-onevision/\(image).safetensors" }

    static func beta(_ image: String) throws -> Double {
        let file = try MappedFile(path: Fixtures.path("llava-onevision/expected.json"))
        let json = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        guard case .array(let entries)? = json["images"], let facts = entries.first(where: { $0["name"] == .string(image) }),
              case .number(let beta)? = facts["beta"] else { return .nan }
        return beta
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("dynamic and static EAH: sink counts, chosen head, logits and tokens equal the reference", arguments: ["wide", "large"])
    func matchesTheReference(_ image: String) throws {
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(Self.model)))
        let ids = try #require(LlavaFixtures.integers(Self.file(image), "input_ids"))
        let size = try #require(LlavaFixtures.integers(Self.file(image), "image_sizes"))
        let pixels = try #require(LlavaFixtures.floats(Self.file(image), "pixel_values"))
        let prompt = try LlavaPrompt.fromRawIDs(ids, config: model.config, imageSize: ImageSize(height: size[0], width: size[1]))
        #expect(prompt.image.countsByKind[.newline] ?? 0 > 0)
        let beta = try Self.beta(image)

        let dynamic = EAHAttentionHook(patches: [EAHLayerPatch(layer: 1, selection: .dynamic, beta: beta, phase: .prefill)])
        let result = try model.generate(prompt: prompt, pixelValues: pixels, maxTokens: 5, hook: dynamic, collectLogits: true)
        #expect(dynamic.sinkCounts[1] == (try #require(LlavaFixtures.integers(Self.file(image), "eah_sink_counts"))))
        #expect(dynamic.chosenHeads[1] == (try #require(LlavaFixtures.integers(Self.file(image), "eah_chosen_head"))).first)
        #expect(Self.worst(try #require(result.logits), try #require(LlavaFixtures.floats(Self.file(image), "eah_dynamic_logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(LlavaFixtures.integers(Self.file(image), "eah_dynamic_generated"))))

        let fixed = EAHAttentionHook(patches: [EAHLayerPatch(layer: 1, selection: .fixed(head: 2), beta: beta, phase: .all)])
        let staticResult = try model.generate(prompt: prompt, pixelValues: pixels, maxTokens: 5, hook: fixed, collectLogits: true)
        #expect(Self.worst(try #require(staticResult.logits), try #require(LlavaFixtures.floats(Self.file(image), "eah_static_logits"))) <= 1e-4)
        #expect(staticResult.tokens == (try #require(LlavaFixtures.integers(Self.file(image), "eah_static_generated"))))
    }
}
