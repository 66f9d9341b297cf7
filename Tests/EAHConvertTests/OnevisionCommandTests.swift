import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// LLaVA-OneVision through every command against transformers 5.24
/// (tools/make_llava_onevision_fixtures.py): anyres pixel values and token ids equal the
/// processor's, eah-run's prompt and decode logits equal eager attention's, dynamic EAH (flags and
/// a dynamic bundle) and static EAH (runtime and baked bundles) equal the PyTorch EAH reference,
/// unpatch is bit-exact, calibrate and eval run on it.
@Suite("LLaVA-OneVision through every command")
struct OnevisionCommandTests {
    static let model = Fixtures.path("llava-onevision/tiny-llava-onevision-hf")
    static let images = ["wide", "tall", "tiny", "large", "portrait", "huge"]

    static func expected() throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("llava-onevision/expected.json"))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func facts(_ image: String) throws -> JSONValue {
        guard case .array(let entries)? = try expected()["images"], let facts = entries.first(where: { $0["name"] == .string(image) }) else {
            throw CheckpointError(path: "expected.json", problem: ModelProblem.badInput("no facts for \(image)"))
        }
        return facts
    }

    static func question() throws -> String {
        guard case .string(let question)? = try expected()["question"] else { return "" }
        return question
    }

    static func floats(_ image: String, _ name: String) -> [Float]? { LlavaFixtures.floats("../llava-onevision/\(image).safetensors", name) }
    static func integers(_ image: String, _ name: String) -> [Int]? { LlavaFixtures.integers("../llava-onevision/\(image).safetensors", name) }
    static func imagePath(_ image: String) -> String { Fixtures.path("llava-onevision/\(image).png") }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("pixel values, token ids and image position kinds equal LlavaOnevisionProcessor's", arguments: images)
    func processorInputs(_ image: String) throws {
        let pipeline = try ModelPipeline(model: Self.model)
        #expect(pipeline.model.family == "llava-onevision")
        let (prompt, images) = try pipeline.inputs(question: try Self.question(), image: Self.imagePath(image))
        let pixels = images[0].pixelValues
        let reference = try #require(Self.floats(image, "pixel_values"))
        #expect(pixels.count == reference.count)
        #expect(Self.worst(pixels, reference) <= 1e-6, "pixel values")
        #expect(prompt.tokens == (try #require(Self.integers(image, "input_ids"))))
        let facts = try Self.facts(image)
        guard case .array(let kinds)? = facts["kinds"] else { Issue.record("kinds"); return }
        #expect(prompt.image.runs.count == 1)
        #expect(prompt.image.runs.first?.kinds.map { JSONValue.string($0.rawValue) } == kinds)
        #expect(facts["first_image_position"] == .integer(prompt.image.runs.first?.start ?? -1))
    }

    /// eah-run's logits and tokens for the fixture's question and image, with `extra` arguments.
    static func run(_ model: String, _ image: String, extra: [String] = []) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [model, "--image", imagePath(image), "--prompt", try question(),
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
        let error = Self.worst(logits, try #require(Self.floats(image, "logits")))
        #expect(error <= 1e-4, "\(image): max |Δ| / (1 + |x|) = \(error)")
        #expect(tokens == (try #require(Self.integers(image, "generated"))))
    }

    @Test("dynamic EAH (flags and a dynamic bundle) and static EAH (runtime and baked bundles) equal the PyTorch EAH reference; unpatch is bit-exact",
          arguments: ["wide", "large"])
    func eahMatchesTheReference(_ image: String) throws {
        let expected = try Self.expected(), facts = try Self.facts(image)
        guard case .integer(let layer)? = expected["layer"], case .integer(let head)? = expected["static_head"],
              case .number(let beta)? = facts["beta"] else { Issue.record("EAH facts"); return }
        let dynamicLogits = try #require(Self.floats(image, "eah_dynamic_logits")), dynamicTokens = try #require(Self.integers(image, "eah_dynamic_generated"))
        let flags = try Self.run(Self.model, image, extra: ["--eah-layer", String(layer), "--eah-beta", String(beta)])
        #expect(Self.worst(flags.logits, dynamicLogits) <= 1e-4)
        #expect(flags.tokens == dynamicTokens)

        let directory = TemporaryDirectory()
        let baked = directory.file("baked"), runtime = directory.file("runtime"), dynamic = directory.file("dynamic")
        for (bundle, extra) in [(baked, ["--head", "\(layer):\(head)", "--bake"]), (runtime, ["--head", "\(layer):\(head)", "--phase", "all"]),
                                (dynamic, ["--selection", "dynamic", "--layer", String(layer), "--beta", String(beta)])] {
            let result = try CommandRunner.run("eah-convert", ["patch", Self.model, "-o", bundle] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let dynamicBundle = try Self.run(dynamic, image)
        #expect(Self.worst(dynamicBundle.logits, dynamicLogits) <= 1e-4)
        #expect(dynamicBundle.tokens == dynamicTokens)
        let staticLogits = try #require(Self.floats(image, "eah_static_logits")), staticTokens = try #require(Self.integers(image, "eah_static_generated"))
        for bundle in [baked, runtime] {
            let run = try Self.run(bundle, image)
            #expect(Self.worst(run.logits, staticLogits) <= 1e-4, "\(bundle)")
            #expect(run.tokens == staticTokens, "\(bundle)")
        }
        // --no-eah on the baked bundle runs the original rows.
        let plain = try Self.run(baked, image, extra: ["--no-eah"])
        #expect(Self.worst(plain.logits, try #require(Self.floats(image, "logits"))) <= 1e-4)
        let inspect = try CommandRunner.run("eah-convert", ["inspect", baked])
        #expect(inspect.stdout.contains("LlavaOnevisionForConditionalGeneration, family llava-onevision, layout llava-hf"), "\(inspect.stdout)")

        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let restoredWeights = try Data(contentsOf: URL(fileURLWithPath: restored + "/model.safetensors"))
        #expect(restoredWeights == (try Data(contentsOf: URL(fileURLWithPath: runtime + "/model.safetensors"))))
        #expect(restoredWeights == (try Data(contentsOf: URL(fileURLWithPath: Self.model + "/model.safetensors"))))
    }

    @Test("--bake writes the chosen head's q rows and q bias over every head, and its KV group's k rows and k bias over every group")
    func bakedRowsAndBiasesPerKVGroup() throws {
        let directory = TemporaryDirectory()
        let baked = directory.file("baked")
        let result = try CommandRunner.run("eah-convert", ["patch", Self.model, "-o", baked, "--head", "1:2", "--bake"])
        #expect(result.status == 0, "\(result.stderr)")
        let original = try SafetensorsReader(path: Self.model + "/model.safetensors"), written = try SafetensorsReader(path: baked + "/model.safetensors")
        func values(_ reader: SafetensorsReader, _ name: String) throws -> [Float] {
            let tensor = try #require(reader.tensor(named: name))
            return try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        // 4 query heads, 2 KV heads, head dim 8, hidden 32: head 2 is in KV group 1.
        let prefix = "language_model.model.layers.1.self_attn."
        for (tensor, blocks, source, width) in [("q_proj.weight", 4, 2, 32), ("q_proj.bias", 4, 2, 1), ("k_proj.weight", 2, 1, 32), ("k_proj.bias", 2, 1, 1)] {
            let before = try values(original, prefix + tensor), after = try values(written, prefix + tensor)
            let block = 8 * width
            #expect(before.count == blocks * block && after.count == before.count, "\(tensor)")
            for index in 0..<blocks {
                #expect(Array(after[(index * block)..<((index + 1) * block)]) == Array(before[(source * block)..<((source + 1) * block)]), "\(tensor) block \(index)")
            }
        }
        for tensor in ["v_proj.weight", "v_proj.bias", "o_proj.weight"] {
            #expect(try values(original, prefix + tensor) == values(written, prefix + tensor), "\(tensor) untouched")
        }
        #expect(try values(original, "language_model.model.layers.0.self_attn.q_proj.bias") == values(written, "language_model.model.layers.0.self_attn.q_proj.bias"))
    }

    /// A JSONL over three fixture images.
    static func data(in directory: TemporaryDirectory) throws -> String {
        var lines: [String] = []
        for name in ["wide", "tall", "large"] {
            try FileManager.default.copyItem(atPath: imagePath(name), toPath: directory.file(name + ".png"))
            lines.append(JSONValue.object([("image", .string(name + ".png")), ("prompt", .string(try question()))]).serialized)
        }
        return directory.write("data.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test("calibrate (shards merged equal the whole) and patch from its report")
    func calibrate() throws {
        let directory = TemporaryDirectory()
        let data = try Self.data(in: directory)
        func calibrate(_ extra: [String], _ name: String) throws {
            let result = try CommandRunner.run("eah-convert", ["calibrate", Self.model, "--data", data, "--layers", "0-1", "--beta", "0.02",
                                                              "-o", directory.file(name)] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try calibrate([], "whole.json")
        try calibrate(["--shard", "0/2"], "s0.json")
        try calibrate(["--shard", "1/2"], "s1.json")
        let merge = try CommandRunner.run("eah-convert", ["calibrate", "--merge", directory.file("s0.json"), directory.file("s1.json"), "-o", directory.file("merged.json")])
        #expect(merge.status == 0, "\(merge.stderr)")
        func report(_ name: String) throws -> JSONValue {
            let file = try MappedFile(path: directory.file(name))
            return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        }
        let whole = try report("whole.json"), merged = try report("merged.json")
        #expect(whole["samples"] == .integer(3))
        #expect(merged["statistics"] == whole["statistics"] && merged["summary"] == whole["summary"])
        guard case .array(let layers)? = whole["summary"], case .array(let heads)? = layers.first?["heads"] else { Issue.record("no summary"); return }
        #expect(layers.count == 2 && heads.count == 4)
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.model, "-o", directory.file("bundle"), "--report", directory.file("whole.json"), "--bake"])
        #expect(patch.status == 0, "\(patch.stderr)")
    }

    @Test("eval (POPE) runs with and without EAH")
    func eval() throws {
        let directory = TemporaryDirectory()
        for name in ["wide", "tall"] { try FileManager.default.copyItem(atPath: Self.imagePath(name), toPath: directory.file(name + ".png")) }
        let annotations = """
            {"images": [{"id": 1, "file_name": "wide.png"}, {"id": 2, "file_name": "tall.png"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 2}],
             "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "car"}]}
            """
        let data = directory.write("instances.json", Array(annotations.utf8))
        for flags in [["--eah-layer", "1"], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-convert", ["eval", Self.model, "--data", data, "--images", directory.path, "--metric", "pope",
                                                              "--max-tokens", "3", "--json"] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(document["metric"] == .string("pope") && document["eah"] == .bool(flags != ["--no-eah"]))
        }
    }

    @Test("inspect names the layout and the packing it implies")
    func inspect() throws {
        let result = try CommandRunner.run("eah-convert", ["inspect", Self.model])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("layout:   llava-hf (llava-onevision: base image, tiles cropped to the image's aspect and shrunk under anyres_max_9"),
                "\(result.stdout)")
    }

    @Test("an image needing more positions than the context is refused, naming the count")
    func imageLargerThanTheContext() throws {
        let folder = TemporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.model) {
            var bytes = try Data(contentsOf: URL(fileURLWithPath: Self.model + "/" + name))
            if name == "config.json" {
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"max_position_embeddings\": 512", with: "\"max_position_embeddings\": 64")
                #expect(text.contains("\"max_position_embeddings\": 64"))
                bytes = Data(text.utf8)
            }
            folder.write(name, Array(bytes))
        }
        let result = try CommandRunner.run("eah-run", [folder.path, "--image", Self.imagePath("huge"), "--prompt", "Hi"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("needs 99 tokens"), "\(result.stderr)")
    }
}

/// LLaVA-OneVision in lmms-lab's release layout (tools/make_llava_original_release_fixtures.py: the
/// tiny llava-hf model renamed as transformers' convert_llava_onevision_weights_to_hf.py maps it
/// back, checked there to give the llava-hf logits exactly; a whole-SigLIP tower config with one
/// layer more than the checkpoint holds), so its reference is the llava-hf one.
@Suite("LLaVA-OneVision, lmms-lab release layout, against transformers")
struct OnevisionLmmsLayoutTests {
    static let model = Fixtures.path("llava-onevision/tiny-llava-onevision-lmms")
    static let tower = Fixtures.path("llava-onevision/siglip-vision")

    @Test("pixel values, image positions, prompt and decode logits and greedy tokens equal the llava-hf layout's transformers reference",
          arguments: OnevisionCommandTests.images)
    func matchesTransformers(_ image: String) throws {
        let pipeline = try ModelPipeline(model: Self.model, visionTower: Self.tower)
        #expect(pipeline.model.family == "llava-onevision")
        #expect(pipeline.model.layoutName == "llava-original")
        let prepared = try pipeline.image(path: OnevisionCommandTests.imagePath(image))
        #expect(LlavaNextTests.worst(prepared.pixelValues, try #require(OnevisionCommandTests.floats(image, "pixel_values"))) <= 1e-6, "pixel values")
        let reference = try #require(OnevisionCommandTests.integers(image, "input_ids"))
        var ids: [Int] = []
        for id in reference where !(id == 402 && ids.last == LlavaPrompt.imageIndex) { ids.append(id == 402 ? LlavaPrompt.imageIndex : id) }
        let input = try pipeline.prepare(ids: ids, images: [prepared], path: "prompt")
        #expect(input.tokens.map { $0 == LlavaPrompt.imageIndex ? 402 : $0 } == reference)
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(LlavaNextTests.worst(try #require(result.logits), try #require(OnevisionCommandTests.floats(image, "logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(OnevisionCommandTests.integers(image, "generated"))))
    }

    @Test("an lmms-lab config with a malformed anyres_max is refused naming image_aspect_ratio")
    func badAspectRatioIsRefused() throws {
        let folder = TemporaryDirectory()
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.model) {
            var bytes = Array(FileManager.default.contents(atPath: Self.model + "/" + name) ?? Data())
            if name == "config.json" {
                let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "\"anyres_max_9\"", with: "\"anyres_max_x\"")
                #expect(text.contains("anyres_max_x"))
                bytes = Array(text.utf8)
            }
            folder.write(name, bytes)
        }
        #expect {
            try ModelFamilies.load(ModelRequest(model: folder.path, visionTower: Self.tower))
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem == .badConfig(
                field: "image_aspect_ratio", reason: "is 'anyres_max_x'; expected anyres (LLaVA-NeXT) or anyres_max_N (LLaVA-OneVision)")
        }
    }
}
