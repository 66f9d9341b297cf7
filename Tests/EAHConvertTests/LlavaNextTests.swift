import EAH
import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// LLaVA-NeXT against transformers 5.24 (tools/make_llava_next_fixtures.py): anyres pixel values
/// and token ids equal the processor's, logits of prompt and decode rows equal eager attention's,
/// dynamic and baked static EAH equal the PyTorch EAH reference, unpatch is bit-exact.
@Suite("LLaVA-NeXT (anyres) against transformers")
struct LlavaNextTests {
    static let model = Fixtures.path("llava-next/tiny-llava-next-hf")
    static let images = ["wide", "tall", "tiny", "large"]

    struct Expected {
        let question: String
        let layer: Int
        let staticHead: Int
        let images: [String: JSONValue]

        init() throws {
            let json = try JSONParser.parse(Array(try String(contentsOfFile: Fixtures.path("llava-next/expected.json"), encoding: .utf8).utf8))
            guard case .string(let question)? = json["question"], case .integer(let layer)? = json["layer"],
                  case .integer(let head)? = json["static_head"], case .array(let items)? = json["images"] else { throw FixtureError() }
            self.question = question
            self.layer = layer
            staticHead = head
            var images: [String: JSONValue] = [:]
            for item in items { if case .string(let name)? = item["name"] { images[name] = item } }
            self.images = images
        }
    }

    struct FixtureError: Error {}

    static func floats(_ image: String, _ name: String) -> [Float]? { LlavaFixtures.floats("../llava-next/\(image).safetensors", name) }
    static func integers(_ image: String, _ name: String) -> [Int]? { LlavaFixtures.integers("../llava-next/\(image).safetensors", name) }
    static func imagePath(_ image: String) -> String { Fixtures.path("llava-next/\(image).png") }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("pixel values, token ids and image position kinds equal LlavaNextProcessor's", arguments: images)
    func processorInputs(_ image: String) throws {
        let expected = try Expected()
        let pipeline = try ModelPipeline(model: Self.model)
        let (prompt, images) = try pipeline.inputs(question: expected.question, image: Self.imagePath(image))
        let pixels = images[0].pixelValues
        let reference = try #require(Self.floats(image, "pixel_values"))
        #expect(pixels.count == reference.count)
        #expect(Self.worst(pixels, reference) <= 1e-6, "pixel values")
        let ids = try #require(Self.integers(image, "input_ids"))
        #expect(prompt.tokens == ids)
        let facts = try #require(expected.images[image])
        guard case .array(let kinds)? = facts["kinds"] else { Issue.record("kinds"); return }
        #expect(prompt.image.runs.count == 1)
        #expect(prompt.image.runs.first?.kinds.map(\.rawValue) == kinds.compactMap { if case .string(let k) = $0 { k } else { nil } })
        #expect(facts["first_image_position"] == .integer(prompt.image.runs.first?.start ?? -1))
    }

    /// eah-run's logits for the fixture's question and image, with `extra` arguments.
    static func run(_ model: String, _ image: String, extra: [String] = []) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [model, "--image", imagePath(image), "--prompt", try Expected().question,
                                                      "--max-tokens", "5", "--logits-out", out, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        let logits = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        let json = try JSONParser.parse(Array(result.stdout.utf8))
        guard case .array(let tokens)? = json["tokens"] else { return (logits, []) }
        return (logits, tokens.compactMap { if case .integer(let t) = $0 { t } else { nil } })
    }

    @Test("eah-run's prompt and decode logits and greedy tokens equal transformers' eager attention", arguments: images)
    func logitsMatchTransformers(_ image: String) throws {
        let (logits, tokens) = try Self.run(Self.model, image)
        #expect(Self.worst(logits, try #require(Self.floats(image, "logits"))) <= 1e-4)
        #expect(tokens == (try #require(Self.integers(image, "generated"))))
    }

    @Test("dynamic EAH and a baked static bundle equal the PyTorch EAH reference; unpatch restores the weights bit for bit",
          arguments: ["wide", "large"])
    func eahMatchesTheReference(_ image: String) throws {
        let expected = try Expected()
        let facts = try #require(expected.images[image])
        guard case .number(let beta)? = facts["beta"] else { Issue.record("beta"); return }
        let dynamic = try Self.run(Self.model, image, extra: ["--eah-layer", String(expected.layer), "--eah-beta", String(beta)])
        #expect(Self.worst(dynamic.logits, try #require(Self.floats(image, "eah_dynamic_logits"))) <= 1e-4)
        #expect(dynamic.tokens == (try #require(Self.integers(image, "eah_dynamic_generated"))))

        let directory = TemporaryDirectory()
        let head = "\(expected.layer):\(expected.staticHead)"
        let baked = directory.file("baked"), runtime = directory.file("runtime")
        for (bundle, extra) in [(baked, ["--bake"]), (runtime, [])] {
            let result = try CommandRunner.run("eah-convert", ["patch", Self.model, "-o", bundle, "--head", head] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let staticRun = try Self.run(baked, image)
        #expect(Self.worst(staticRun.logits, try #require(Self.floats(image, "eah_static_logits"))) <= 1e-4)
        #expect(staticRun.tokens == (try #require(Self.integers(image, "eah_static_generated"))))
        let inspect = try CommandRunner.run("eah-convert", ["inspect", baked])
        #expect(inspect.stdout.contains("model:    LlavaNextForConditionalGeneration, family llava-next, layout llava-hf"), "\(inspect.stdout)")
        #expect(inspect.stdout.contains("layout:   llava-hf (llava-next: base image, tiles cropped to the image's aspect, image_newline after each row)"),
                "\(inspect.stdout)")

        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let restoredWeights = try Data(contentsOf: URL(fileURLWithPath: restored + "/model.safetensors"))
        let runtimeWeights = try Data(contentsOf: URL(fileURLWithPath: runtime + "/model.safetensors"))
        #expect(restoredWeights == runtimeWeights)
    }

    @Test("calibration counts sinks at every image position and reports them split by kind, as the reference does",
          arguments: ["wide", "large"])
    func calibrationKeepsKinds(_ image: String) throws {
        let expected = try Expected()
        let facts = try #require(expected.images[image])
        guard case .number(let beta)? = facts["beta"], case .object(let byKind)? = facts["sink_counts_by_kind"],
              case .array(let kinds)? = facts["kinds"] else { Issue.record("facts"); return }
        let calibrator = try Calibrator(pipeline: try ModelPipeline(model: Self.model), layers: [expected.layer], beta: beta)
        let statistics = try calibrator.run([CalibrationData.Sample(image: Self.imagePath(image), prompt: expected.question)])
        #expect(statistics.sumCounts[0] == (try #require(Self.integers(image, "eah_sink_counts"))))
        var want: [String: [Int]] = [:]
        for (kind, counts) in byKind {
            guard case .array(let values) = counts else { continue }
            want[kind] = values.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        }
        #expect(statistics.sumCountsByKind[0] == want)
        var tokens: [String: Int] = [:]
        for case .string(let kind) in kinds { tokens[kind, default: 0] += 1 }
        #expect(statistics.imageTokensByKind == tokens)
        let report = CalibrationReport(toolVersion: "t", modelLayout: "llava-hf", modelPath: Self.model, beta: beta, dataDigests: [],
                                       shards: [], statistics: statistics)
        #expect(try CalibrationReport(json: report.json).statistics == statistics)
        #expect(try CalibrationReport(json: report.json).statistics.merged(with: statistics).sumCountsByKind[0] == want.mapValues { $0.map { $0 * 2 } })
    }

    @Test("a Mistral decoder's sliding window (8 positions) matches transformers' eager attention")
    func mistralDecoder() throws {
        let model = Fixtures.path("llava-next/tiny-llava-next-mistral-hf")
        let weights = try LlavaLoader.load(model: model)
        #expect(weights.config.text.slidingWindow == 8)
        let pipeline = try ModelPipeline(model: model)
        let (prompt, _) = try pipeline.inputs(question: try Expected().question, image: Self.imagePath("wide"))
        #expect(prompt.tokens == (try #require(LlavaFixtures.integers("../llava-next/mistral-wide.safetensors", "input_ids"))))
        let (logits, tokens) = try Self.run(model, "wide")
        #expect(Self.worst(logits, try #require(LlavaFixtures.floats("../llava-next/mistral-wide.safetensors", "logits"))) <= 1e-4)
        #expect(tokens == (try #require(LlavaFixtures.integers("../llava-next/mistral-wide.safetensors", "generated"))))
    }

    @Test("an image needing more positions than the context is refused, naming the count")
    func imageLargerThanTheContext() throws {
        let folder = TemporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.model) {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.model + "/" + name))
            if name == "config.json" {
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"max_position_embeddings\": 256", with: "\"max_position_embeddings\": 30")
                #expect(text.contains("\"max_position_embeddings\": 30"))
                bytes = Data(text.utf8)
            }
            folder.write(name, Array(bytes))
        }
        let pipeline = try ModelPipeline(model: folder.path)
        #expect {
            _ = try pipeline.inputs(question: "What is in the picture?", image: Self.imagePath("large"))
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .imageTooLarge(needed: 37, context: 30)
        }
        let result = try CommandRunner.run("eah-run", [folder.path, "--image", Self.imagePath("large"), "--prompt", "Hi"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("needs 37 tokens"), "\(result.stderr)")
    }

    @Test("the registry reads NeXT's config and refuses its other layouts clearly")
    func registry() throws {
        let weights = try LlavaLoader.load(model: Self.model)
        #expect(weights.companions.family == "llava-next")
        #expect(weights.config.anyres?.pinpoints == [ImageSize(height: 42, width: 84), ImageSize(height: 84, width: 42), ImageSize(height: 84, width: 84)])
        #expect(weights.projector.imageNewline?.count == weights.config.text.hiddenSize)
        // select_best_resolution: a wide image fits 42×84, a square one 84×84, ties to less waste.
        let pinpoints = weights.config.anyres?.pinpoints ?? []
        #expect(AnyResLayout.bestResolution(for: ImageSize(height: 31, width: 97), among: pinpoints) == ImageSize(height: 42, width: 84))
        #expect(AnyResLayout.bestResolution(for: ImageSize(height: 150, width: 200), among: pinpoints) == ImageSize(height: 84, width: 84))
        #expect(AnyResLayout.resizedSize(of: ImageSize(height: 31, width: 97), into: ImageSize(height: 42, width: 84)) == ImageSize(height: 27, width: 84))
    }
}

/// LLaVA-NeXT in the original release's layout (tools/make_llava_next_original_fixtures.py: the
/// tiny llava-hf model renamed as transformers' convert_llava_next_weights_to_hf.py maps it back,
/// checked there to give the llava-hf logits exactly), so its reference is the llava-hf one.
@Suite("LLaVA-NeXT, original release layout, against transformers")
struct LlavaNextOriginalTests {
    static let model = Fixtures.path("llava-next/tiny-llava-next-original")
    static let tower = Fixtures.path("llava-next/clip-vision")

    /// The fixture's llava-hf ids with the run of `<image>` ids as the original layout's one marker.
    static func originalIDs(_ image: String, imageToken: Int = 1500) throws -> [Int] {
        let ids = try #require(LlavaNextTests.integers(image, "input_ids"))
        var out: [Int] = []
        for id in ids where !(id == imageToken && out.last == LlavaPrompt.imageIndex) { out.append(id == imageToken ? LlavaPrompt.imageIndex : id) }
        return out
    }

    @Test("pixel values, image positions, prompt and decode logits and greedy tokens equal the llava-hf layout's transformers reference",
          arguments: LlavaNextTests.images)
    func matchesTransformers(_ image: String) throws {
        let pipeline = try ModelPipeline(model: Self.model, visionTower: Self.tower)
        #expect(pipeline.model.family == "llava-next")
        #expect(pipeline.model.layoutName == "llava-original")
        let prepared = try pipeline.image(path: LlavaNextTests.imagePath(image))
        #expect(LlavaNextTests.worst(prepared.pixelValues, try #require(LlavaNextTests.floats(image, "pixel_values"))) <= 1e-6, "pixel values")
        let input = try pipeline.prepare(ids: try Self.originalIDs(image), images: [prepared], path: "prompt")
        #expect(input.tokens.map { $0 == LlavaPrompt.imageIndex ? 1500 : $0 } == (try #require(LlavaNextTests.integers(image, "input_ids"))))
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(LlavaNextTests.worst(try #require(result.logits), try #require(LlavaNextTests.floats(image, "logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(LlavaNextTests.integers(image, "generated"))))
    }

    @Test("LlavaMistralForCausalLM (llava_mistral, its sliding window hiding prompt keys) equals transformers' Mistral NeXT")
    func mistral() throws {
        let pipeline = try ModelPipeline(model: Fixtures.path("llava-next/tiny-llava-next-mistral-original"), visionTower: Self.tower)
        #expect(pipeline.model.family == "llava-next")
        let prepared = try pipeline.image(path: LlavaNextTests.imagePath("wide"))
        let input = try pipeline.prepare(ids: try Self.originalIDs("mistral-wide"), images: [prepared], path: "prompt")
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(LlavaNextTests.worst(try #require(result.logits), try #require(LlavaNextTests.floats("mistral-wide", "logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(LlavaNextTests.integers("mistral-wide", "generated"))))
    }

    @Test("a baked bundle (tower config carried in vision_tower/) equals the static EAH reference; unpatch restores the checkpoint bit for bit",
          arguments: ["wide", "large"])
    func bakedBundle(_ image: String) throws {
        let expected = try LlavaNextTests.Expected()
        let directory = TemporaryDirectory()
        let bundle = directory.file("baked"), restored = directory.file("restored")
        // The tower folder inside the model's (the manifest records source files relative to the model folder).
        let model = directory.file("model")
        try FileManager.default.copyItem(atPath: Self.model, toPath: model)
        try FileManager.default.copyItem(atPath: Self.tower, toPath: model + "/clip-vision")
        let patch = try CommandRunner.run("eah-convert", ["patch", model, "--vision-tower", model + "/clip-vision", "-o", bundle,
                                                          "--head", "\(expected.layer):\(expected.staticHead)", "--bake"])
        #expect(patch.status == 0, "\(patch.stderr)")
        let pipeline = try ModelPipeline(model: bundle, visionTower: bundle + "/vision_tower")
        let prepared = try pipeline.image(path: LlavaNextTests.imagePath(image))
        let input = try pipeline.prepare(ids: try Self.originalIDs(image), images: [prepared], path: "prompt")
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(LlavaNextTests.worst(try #require(result.logits), try #require(LlavaNextTests.floats(image, "eah_static_logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(LlavaNextTests.integers(image, "eah_static_generated"))))
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/model.safetensors", andPath: Self.model + "/model.safetensors"))
        let run = try CommandRunner.run("eah-run", [bundle, "--image", LlavaNextTests.imagePath(image), "--prompt", "What is in the picture?", "--max-tokens", "2"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("without --vision-tower the original layout is refused saying what to pass")
    func needsTheTowerFolder() throws {
        #expect {
            try ModelFamilies.load(ModelRequest(model: Self.model))
        } throws: { error in
            guard case .needsCompanion(let hint)? = (error as? CheckpointError)?.problem as? ModelProblem else { return false }
            return hint.hasPrefix("the original LLaVA layout's config.json does not describe its vision tower: pass --vision-tower with the tower folder")
        }
    }

    @Test("eah-run answers from the original layout")
    func eahRunAnswers() throws {
        let run = try CommandRunner.run("eah-run", [Self.model, "--vision-tower", Self.tower, "--image", LlavaNextTests.imagePath("wide"),
                                                   "--prompt", "What is in the picture?", "--max-tokens", "3", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
    }
}
