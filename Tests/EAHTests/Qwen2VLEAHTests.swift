import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// EAH on Qwen2-VL and Qwen2.5-VL against the PyTorch reference (tools/make_qwen2vl_fixtures.py,
/// with make_eah_fixtures.py's reference attention in transformers' text decoder): the image
/// columns are this input's `<|image_pad|>` positions, whatever the image's resolution.
@Suite("EAH on Qwen2-VL vs the PyTorch reference")
struct Qwen2VLEAHTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let name: String
        let image: Int
        let selection: String
        let phase: EAHLayerPatch.Phase
        let beta: Double
        let staticHeads: [Int]?
        let sinkCounts: [[Int]]
        let chosenHeads: [Int]
        var testDescription: String { "\(model) \(name)" }
    }

    static let layers = [0, 1]

    static let cases: [Case] = ["qwen2vl", "qwen25vl"].flatMap { model -> [Case] in
        guard let file = try? MappedFile(path: Fixtures.path("qwen2vl/\(model)/eah.json")), let document = try? JSONParser.parse(file.bytes),
              case .array(let entries)? = document["cases"] else { return [] }
        func ints(_ value: JSONValue?) -> [Int]? {
            guard case .array(let items)? = value else { return nil }
            return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        }
        return entries.compactMap { entry in
            guard case .string(let name)? = entry["name"], case .string(let selection)? = entry["selection"],
                  case .string(let phase)? = entry["phase"], case .integer(let image)? = entry["image"],
                  case .array(let counts)? = entry["sink_counts"] else { return nil }
            let beta: Double = switch entry["beta"] { case .number(let v)?: v; case .integer(let v)?: Double(v); default: .nan }
            return Case(model: model, name: name, image: image, selection: selection, phase: phase == "all" ? .all : .prefill, beta: beta,
                        staticHeads: ints(entry["static_heads"]), sinkCounts: counts.map { ints($0) ?? [] },
                        chosenHeads: ints(entry["chosen_heads"]) ?? [])
        }
    }

    @Test("the reference cases are all there")
    func inventory() {
        #expect(Self.cases.count == 8)
    }

    @Test("logits, tokens, sink counts and chosen heads equal the reference", arguments: cases)
    func matchesReference(_ testCase: Case) throws {
        let expected = "../qwen2vl/\(testCase.model)/expected.safetensors", eah = "../qwen2vl/\(testCase.model)/eah.safetensors"
        let k = testCase.image, tag = testCase.name
        let model = Qwen2VLModel(weights: try Qwen2VLLoader.load(model: Fixtures.path("qwen2vl/\(testCase.model)/hf-save")))
        let pixels = try #require(LlavaFixtures.floats(expected, "pixel_values_\(k)"))
        let grid = try #require(LlavaFixtures.integers(expected, "grid_\(k)"))
        let ids = try #require(LlavaFixtures.integers(expected, "input_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(eah, "logits_\(tag)"))
        let generated = try #require(LlavaFixtures.integers(eah, "generated_\(tag)"))
        let patches = Self.layers.enumerated().map { index, layer in
            EAHLayerPatch(layer: layer, selection: testCase.selection == "static" ? .fixed(head: testCase.staticHeads![index]) : .dynamic,
                          beta: testCase.beta, phase: testCase.phase)
        }
        let hook = EAHAttentionHook(patches: patches, observedLayers: Set(Self.layers), observationBeta: testCase.beta)
        let prompt = try Qwen2VLPrompt.make(ids: ids, grids: [PatchGrid(t: grid[0], h: grid[1], w: grid[2])], config: model.config)
        #expect(prompt.imagePositions.count == (grid[1] / 2) * (grid[2] / 2))
        let result = try model.generate(prompt: prompt, pixelValues: [pixels], maxTokens: generated.count, hook: hook, collectLogits: true)
        #expect(result.tokens == generated)
        let logits = try #require(result.logits)
        #expect(logits.count == expectedLogits.count)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        print("EAH \(testCase.testDescription): \(prompt.imagePositions.count) image columns, max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
        if testCase.selection == "dynamic" {
            #expect(Self.layers.map { hook.sinkCounts[$0] ?? [] } == testCase.sinkCounts)
        }
        #expect(Self.layers.map { hook.chosenHeads[$0] ?? -1 } == testCase.chosenHeads)
    }

    /// A copy of `model`'s hf-save folder with static heads baked as `--bake` writes them: at each
    /// layer, the chosen head's q rows and q bias over every query head, its KV group's k rows
    /// and k bias over every KV head (Qwen2 has k biases), in the stored type.
    static func bakedCopy(of model: String, heads: [Int], into directory: TemporaryDirectory) throws -> String {
        let folder = Fixtures.path("qwen2vl/\(model)/hf-save")
        let config = try Qwen2VLLoader.load(model: folder).config.text
        let reader = try Checkpoint.open(folder + "/model.safetensors")
        let a = config.attention
        var targets: [String: (source: Int, blocks: Int)] = [:]
        for (layer, head) in zip(layers, heads) {
            let kv = HeadBake.kvHead(of: head, headCount: a.headCount, kvHeadCount: a.kvHeadCount)
            for suffix in ["weight", "bias"] {
                targets["model.layers.\(layer).self_attn.q_proj.\(suffix)"] = (head, a.headCount)
                targets["model.layers.\(layer).self_attn.k_proj.\(suffix)"] = (kv, a.kvHeadCount)
            }
        }
        let tensors = reader.tensors
        let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                           tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for info in tensors {
            var bytes = try reader.bytes(of: info).withUnsafeBytes { Array($0) }
            if let target = targets[info.name] {
                let rows = info.shape[0], rowBytes = bytes.count / rows
                HeadBake.broadcastBlock(&bytes, source: target.source, blockCount: target.blocks, rowsPerBlock: rows / target.blocks, rowBytes: rowBytes)
            }
            try writer.write(bytes)
        }
        try writer.finish()
        let configFile = try MappedFile(path: folder + "/config.json")
        directory.write("config.json", withExtendedLifetime(configFile) { Array(configFile.bytes) })
        return directory.path
    }

    @Test("baked static heads equal the reference's static EAH (phase all) with no hook", arguments: cases.filter { $0.selection == "static" })
    func bakedMatchesReference(_ testCase: Case) throws {
        let directory = TemporaryDirectory()
        let baked = try Self.bakedCopy(of: testCase.model, heads: try #require(testCase.staticHeads), into: directory)
        let expected = "../qwen2vl/\(testCase.model)/expected.safetensors", eah = "../qwen2vl/\(testCase.model)/eah.safetensors"
        let k = testCase.image, tag = testCase.name
        let model = Qwen2VLModel(weights: try Qwen2VLLoader.load(model: baked))
        let pixels = try #require(LlavaFixtures.floats(expected, "pixel_values_\(k)"))
        let grid = try #require(LlavaFixtures.integers(expected, "grid_\(k)"))
        let ids = try #require(LlavaFixtures.integers(expected, "input_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(eah, "logits_\(tag)"))
        let generated = try #require(LlavaFixtures.integers(eah, "generated_\(tag)"))
        let prompt = try Qwen2VLPrompt.make(ids: ids, grids: [PatchGrid(t: grid[0], h: grid[1], w: grid[2])], config: model.config)
        let result = try model.generate(prompt: prompt, pixelValues: [pixels], maxTokens: generated.count, collectLogits: true)
        #expect(result.tokens == generated)
        let logits = try #require(result.logits)
        let worst = zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? .infinity
        print("baked \(testCase.testDescription): max |Δ|/(1+|x|) \(worst)")
        #expect(logits.count == expectedLogits.count && worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }
}
