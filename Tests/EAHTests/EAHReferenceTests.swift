import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// EAH's semantics against the PyTorch reference (tools/make_eah_fixtures.py: transformers'
/// eager attention with a registered EAH attention function).
@Suite("EAH vs the PyTorch reference")
struct EAHReferenceTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let model: String
        let layers: [Int]
        let selection: String
        let staticHeads: [Int]?
        let beta: Double
        let phase: EAHLayerPatch.Phase
        let targetHeads: [Int]?
        let sinkCounts: [[Int]]
        let chosenHeads: [Int]
        var testDescription: String { name }

        var patches: [EAHLayerPatch] {
            guard selection != "none" else { return [] }
            return layers.enumerated().map { index, layer in
                EAHLayerPatch(layer: layer, selection: selection == "static" ? .fixed(head: staticHeads![index]) : .dynamic,
                              beta: beta, phase: phase, targetHeads: targetHeads)
            }
        }
    }

    static let cases: [Case] = {
        guard let file = try? MappedFile(path: Fixtures.path("eah/cases.json")), let document = try? JSONParser.parse(file.bytes),
              case .array(let entries)? = document["cases"] else { return [] }
        func ints(_ value: JSONValue?) -> [Int]? {
            guard case .array(let items)? = value else { return nil }
            return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        }
        func number(_ value: JSONValue?) -> Double {
            switch value { case .number(let v)?: v; case .integer(let v)?: Double(v); default: .nan }
        }
        return entries.compactMap { entry in
            guard case .string(let name)? = entry["name"], case .string(let model)? = entry["model"],
                  case .string(let selection)? = entry["selection"], case .string(let phase)? = entry["phase"],
                  case .array(let counts)? = entry["sink_counts"] else { return nil }
            return Case(name: name, model: model, layers: ints(entry["layers"]) ?? [], selection: selection,
                        staticHeads: ints(entry["static_heads"]), beta: number(entry["beta"]),
                        phase: phase == "all" ? .all : .prefill, targetHeads: ints(entry["target_heads"]),
                        sinkCounts: counts.map { ints($0) ?? [] }, chosenHeads: ints(entry["chosen_heads"]) ?? [])
        }
    }()

    @Test("the reference cases are all there")
    func inventory() {
        #expect(Self.cases.count == 11)
    }

    @Test("logits, tokens, sink counts and chosen heads equal the reference", arguments: cases)
    func matchesReference(_ testCase: Case) throws {
        let file = "../eah/\(testCase.name).safetensors"
        let ids = try #require(LlavaFixtures.integers(file, "input_ids"))
        let pixels = try #require(LlavaFixtures.floats(file, "pixel_values"))
        let expectedLogits = try #require(LlavaFixtures.floats(file, "logits"))
        let generated = try #require(LlavaFixtures.integers(file, "generated"))
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(testCase.model)))
        let hook = EAHAttentionHook(patches: testCase.patches, observedLayers: Set(testCase.layers), observationBeta: testCase.beta)
        let prompt = try LlavaPrompt.fromRawIDs(ids, config: model.config)
        let result = try model.generate(prompt: prompt, pixelValues: pixels, maxTokens: generated.count, stopTokens: [], hook: hook, collectLogits: true)
        #expect(result.tokens == generated)
        let logits = try #require(result.logits)
        #expect(logits.count == expectedLogits.count)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
        #expect(testCase.layers.map { hook.sinkCounts[$0] ?? [] } == testCase.sinkCounts)
        #expect(testCase.layers.map { hook.chosenHeads[$0] ?? -1 } == testCase.chosenHeads.map { testCase.selection == "none" ? -1 : $0 })
    }
}

extension EAHReferenceTests {
    @Test("static selection computing one map for all target heads gives the reference logits",
          arguments: cases.filter { $0.selection == "static" })
    func staticSharedMap(_ testCase: Case) throws {
        let file = "../eah/\(testCase.name).safetensors"
        let ids = try #require(LlavaFixtures.integers(file, "input_ids"))
        let pixels = try #require(LlavaFixtures.floats(file, "pixel_values"))
        let expectedLogits = try #require(LlavaFixtures.floats(file, "logits"))
        let model = LlavaModel(weights: try LlavaLoader.load(model: LlavaFixtures.path(testCase.model)))
        let hook = EAHAttentionHook(patches: testCase.patches)
        // A static head without observation: the plan names it up front and asks for no counts,
        // so the targets' own maps are never computed.
        let plan = hook.plan(for: AttentionContext(layer: testCase.layers[0], phase: .prefill, queryStart: 0, imagePositions: [1], queriesPerKVHead: 1))
        #expect(plan?.broadcastHead != nil && plan?.countedColumns == nil)
        let result = try model.generate(prompt: try LlavaPrompt.fromRawIDs(ids, config: model.config), pixelValues: pixels,
                                        maxTokens: 5, stopTokens: [], hook: hook, collectLogits: true)
        let logits = try #require(result.logits)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }
}
