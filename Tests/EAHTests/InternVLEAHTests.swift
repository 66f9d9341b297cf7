import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Testing

/// EAH on InternVL against the PyTorch reference (tools/make_internvl_fixtures.py, with
/// make_eah_fixtures.py's reference attention in transformers' text decoder): the image columns
/// are the `<IMG_CONTEXT>` positions of every tile and the thumbnail, never `<img>` / `</img>`.
@Suite("EAH on InternVL vs the PyTorch reference")
struct InternVLEAHTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let model: String
        let name: String
        let image: Int
        let selection: String
        let beta: Double
        let staticHeads: [Int]?
        let sinkCounts: [[Int]]
        let chosenHeads: [Int]
        var testDescription: String { "\(model) \(name)" }
        var expected: String { "../internvl/\(model)/expected.safetensors" }
        var eah: String { "../internvl/\(model)/eah.safetensors" }
    }

    static let layers = [0, 1]

    static let cases: [Case] = ["internvl", "internvl-rms"].flatMap { model -> [Case] in
        guard let file = try? MappedFile(path: Fixtures.path("internvl/\(model)/eah.json")), let document = try? JSONParser.parse(file.bytes),
              case .array(let entries)? = document["cases"] else { return [] }
        func ints(_ value: JSONValue?) -> [Int]? {
            guard case .array(let items)? = value else { return nil }
            return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        }
        return entries.compactMap { entry in
            guard case .string(let name)? = entry["name"], case .string(let selection)? = entry["selection"],
                  case .string("all")? = entry["phase"], case .integer(let image)? = entry["image"],
                  case .array(let counts)? = entry["sink_counts"] else { return nil }
            let beta: Double = switch entry["beta"] { case .number(let v)?: v; case .integer(let v)?: Double(v); default: .nan }
            return Case(model: model, name: name, image: image, selection: selection, beta: beta, staticHeads: ints(entry["static_heads"]),
                        sinkCounts: counts.map { ints($0) ?? [] }, chosenHeads: ints(entry["chosen_heads"]) ?? [])
        }
    }

    @Test("the reference cases are all there")
    func inventory() {
        #expect(Self.cases.count == 8)
    }

    /// Runs `folder`'s model on image `k`'s fixture ids and pixel values; the logits' worst
    /// relative difference from the case's reference and whether the tokens match.
    static func compare(_ testCase: Case, folder: String, hook: EAHAttentionHook?) throws -> (worst: Float, tokens: Bool, imageColumns: Int) {
        let k = testCase.image, tag = testCase.name
        let model = try ModelFamilies.load(ModelRequest(model: folder))
        let pixels = try #require(LlavaFixtures.floats(testCase.expected, "pixel_values_\(k)"))
        let ids = try #require(LlavaFixtures.integers(testCase.expected, "input_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(testCase.eah, "logits_\(tag)"))
        let generated = try #require(LlavaFixtures.integers(testCase.eah, "generated_\(tag)"))
        let image = PreparedImage(pixelValues: pixels, size: nil)
        let input = try model.prepare(ids: ids, images: [image])
        let result = try model.generate(input, images: [image], maxTokens: generated.count, hook: hook, collectLogits: true)
        let logits = try #require(result.logits)
        let worst = logits.count == expectedLogits.count ? zip(logits, expectedLogits).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
        return (worst, result.tokens == generated, input.imagePositions.count)
    }

    @Test("logits, tokens, sink counts and chosen heads equal the reference", arguments: cases)
    func matchesReference(_ testCase: Case) throws {
        let patches = Self.layers.enumerated().map { index, layer in
            EAHLayerPatch(layer: layer, selection: testCase.selection == "static" ? .fixed(head: testCase.staticHeads![index]) : .dynamic,
                          beta: testCase.beta, phase: .all)
        }
        let hook = EAHAttentionHook(patches: patches, observedLayers: Set(Self.layers), observationBeta: testCase.beta)
        let (worst, tokens, columns) = try Self.compare(testCase, folder: Fixtures.path("internvl/\(testCase.model)/hf-save"), hook: hook)
        print("EAH \(testCase.testDescription): \(columns) image columns, max |Δ|/(1+|x|) \(worst)")
        #expect(tokens)
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
        if testCase.selection == "dynamic" {
            #expect(Self.layers.map { hook.sinkCounts[$0] ?? [] } == testCase.sinkCounts)
        }
        #expect(Self.layers.map { hook.chosenHeads[$0] ?? -1 } == testCase.chosenHeads)
    }

    /// A copy of `model`'s hf-save folder with static heads baked as `--bake` writes them (the
    /// model's bake targets: q rows and bias over every query head, k rows and bias over every KV head).
    static func bakedCopy(of model: String, heads: [Int], into directory: TemporaryDirectory) throws -> String {
        let folder = Fixtures.path("internvl/\(model)/hf-save")
        let loaded = try ModelFamilies.load(ModelRequest(model: folder))
        let shape = loaded.shape
        var targets: [String: (source: Int, blocks: Int)] = [:]
        for (layer, head) in zip(layers, heads) {
            let kv = HeadBake.kvHead(of: head, headCount: shape.headCount, kvHeadCount: shape.kvHeadCount)
            for target in loaded.bakeTargets(layer: layer) {
                targets[target.name] = target.perKVHead ? (kv, shape.kvHeadCount) : (head, shape.headCount)
            }
        }
        #expect(targets.count == 4 * heads.count)
        let reader = try Checkpoint.open(folder + "/model.safetensors")
        let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                           tensors: reader.tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for info in reader.tensors {
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
        let (worst, tokens, _) = try Self.compare(testCase, folder: baked, hook: nil)
        print("baked \(testCase.testDescription): max |Δ|/(1+|x|) \(worst)")
        #expect(tokens)
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }
}
