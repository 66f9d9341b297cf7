import EAH
import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Gemma 3 against transformers 5.24 (tools/make_gemma3_fixtures.py): a tiny random
/// Gemma3ForConditionalGeneration saved with its processor (sliding window 6, shorter than the
/// 16-token image run and the prompt; head_dim ≠ hidden/heads; query_pre_attn_scalar; local and
/// linearly scaled global RoPE; soft-capping fields transformers ignores), eager attention; EAH against
/// the PyTorch reference attention of make_eah_fixtures.py.
@Suite("Gemma 3 vs transformers")
struct Gemma3Tests {
    static let folder = Fixtures.path("gemma3/hf-save")
    static let expected = "../gemma3/expected.safetensors"

    static func facts() throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("gemma3/facts.json"))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func image(_ k: Int) throws -> (path: String, question: String) {
        guard case .array(let images)? = try facts()["images"], case .string(let file)? = images[k]["file"],
              case .string(let question)? = images[k]["question"] else { throw CheckpointError(path: "facts.json", problem: ModelProblem.badInput("no image \(k)")) }
        return (Fixtures.path("images/valid/\(file)"), question)
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("pixel values and ids equal the processor's; prompt and decode logits and greedy tokens equal transformers'", arguments: 0..<3)
    func matchesTransformers(_ k: Int) throws {
        let pipeline = try ModelPipeline(model: Self.folder)
        #expect(pipeline.model.family == "gemma3")
        let (path, question) = try Self.image(k)
        let (prompt, images) = try pipeline.inputs(question: question, image: path)
        let pixels = try #require(LlavaFixtures.floats(Self.expected, "pixel_values_\(k)"))
        let ids = try #require(LlavaFixtures.integers(Self.expected, "input_ids_\(k)"))
        let types = try #require(LlavaFixtures.integers(Self.expected, "token_type_ids_\(k)"))
        let expectedLogits = try #require(LlavaFixtures.floats(Self.expected, "logits_\(k)"))
        let generated = try #require(LlavaFixtures.integers(Self.expected, "generated_\(k)"))
        #expect(images[0].pixelValues == pixels)
        #expect(prompt.tokens == ids)
        #expect(prompt.imagePositions == types.indices.filter { types[$0] == 1 })
        let result = try pipeline.model.generate(prompt, images: images, maxTokens: generated.count, collectLogits: true)
        #expect(result.tokens == generated)
        let worst = Self.worst(try #require(result.logits), expectedLogits)
        print("gemma3 image \(k): \(prompt.tokens.count) tokens, \(prompt.imagePositions.count) image tokens, max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
    }

    @Test("dynamic EAH: logits, tokens, sink counts and chosen heads equal the PyTorch reference")
    func dynamicEAH() throws {
        let file = try MappedFile(path: Fixtures.path("gemma3/eah.json"))
        let document = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        guard case .array(let cases)? = document["cases"], let entry = cases.first, case .number(let beta)? = entry["beta"],
              case .array(let counts)? = entry["sink_counts"], case .array(let chosen)? = entry["chosen_heads"] else {
            Issue.record("eah.json lacks its dynamic case")
            return
        }
        func ints(_ value: JSONValue) -> [Int] {
            guard case .array(let items) = value else { return [] }
            return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
        }
        let layers = [0, 1]
        let model = try ModelFamilies.load(ModelRequest(model: Self.folder))
        let pixels = try #require(LlavaFixtures.floats(Self.expected, "pixel_values_0"))
        let ids = try #require(LlavaFixtures.integers(Self.expected, "input_ids_0"))
        let expectedLogits = try #require(LlavaFixtures.floats("../gemma3/eah.safetensors", "logits_dynamic_0"))
        let generated = try #require(LlavaFixtures.integers("../gemma3/eah.safetensors", "generated_dynamic_0"))
        let hook = EAHAttentionHook(patches: layers.map { EAHLayerPatch(layer: $0, selection: .dynamic, beta: beta, phase: .all) },
                                    observedLayers: Set(layers), observationBeta: beta)
        let prompt = try model.prepare(ids: ids, images: [PreparedImage(pixelValues: pixels, size: nil)])
        let result = try model.generate(prompt, images: [PreparedImage(pixelValues: pixels, size: nil)], maxTokens: generated.count,
                                        hook: hook, collectLogits: true)
        #expect(result.tokens == generated)
        let worst = Self.worst(try #require(result.logits), expectedLogits)
        print("gemma3 EAH dynamic: max |Δ|/(1+|x|) \(worst)")
        #expect(worst <= 1e-4, "max |Δlogit| / (1 + |logit|) = \(worst)")
        #expect(layers.map { hook.sinkCounts[$0] ?? [] } == counts.map(ints))
        #expect(layers.map { hook.chosenHeads[$0] ?? -1 } == ints(.array(chosen)))
    }

    /// A copy of the fixture folder with its tensors renamed by `rename` and `edit` applied to each file's text.
    static func editedCopy(rename: (String) -> String, edit: (String, String) -> String = { $1 }) throws -> TemporaryDirectory {
        let reader = try Checkpoint.open(folder + "/model.safetensors")
        var tensors = try reader.tensors.map { info in (name: rename(info.name), dtype: info.dtype, shape: info.shape, bytes: try reader.bytes(of: info).withUnsafeBytes { Array($0) }) }
        tensors.sort { $0.name < $1.name }  // the writer lays tensors out by name
        let directory = TemporaryDirectory()
        let writer = try SafetensorsWriter(path: directory.file("model.safetensors"), overwrite: false,
                                           tensors: tensors.map { TensorPlan(name: $0.name, dtype: $0.dtype, shape: $0.shape) })
        for tensor in tensors { try writer.write(tensor.bytes) }
        try writer.finish()
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) where name != "model.safetensors" {
            directory.write(name, Array(edit(name, try String(contentsOfFile: folder + "/" + name, encoding: .utf8)).utf8))
        }
        return directory
    }

    @Test("transformers 5's in-memory names (model.language_model.*, model.vision_tower.*) load and run as the saved ones")
    func inMemoryNames() throws {
        let copy = try Self.editedCopy(rename: { name in
            for (from, to) in [("language_model.model.", "model.language_model."), ("vision_tower.", "model.vision_tower."),
                               ("multi_modal_projector.", "model.multi_modal_projector.")] where name.hasPrefix(from) {
                return to + name.dropFirst(from.count)
            }
            return name
        })
        let pipeline = try ModelPipeline(model: copy.path)
        #expect(pipeline.model.layoutName == "llava-hf-current")
        let (path, question) = try Self.image(0)
        let (prompt, images) = try pipeline.inputs(question: question, image: path)
        let result = try pipeline.model.generate(prompt, images: images, maxTokens: 5, collectLogits: true)
        #expect(result.tokens == (try #require(LlavaFixtures.integers(Self.expected, "generated_0"))))
        #expect(Self.worst(try #require(result.logits), try #require(LlavaFixtures.floats(Self.expected, "logits_0"))) <= 1e-4)
    }

    @Test("pan-and-scan is refused, naming the setting and the fix")
    func panAndScanRefused() throws {
        let copy = try Self.editedCopy(rename: { $0 }, edit: { name, text in
            name == "processor_config.json" ? text.replacingOccurrences(of: "\"do_pan_and_scan\": false", with: "\"do_pan_and_scan\": true") : text
        })
        #expect {
            try ModelPipeline(model: copy.path)
        } throws: { error in
            (error as? CheckpointError)?.problem as? ModelProblem
                == .badConfig(field: "do_pan_and_scan", reason: "is true; pan-and-scan crops are not supported: set it to false")
        }
    }

    @Test("prompts whose image runs do not fit are refused, naming the problem")
    func badPrompts() throws {
        let model = try ModelFamilies.load(ModelRequest(model: Self.folder))
        let image = PreparedImage(pixelValues: [Float](repeating: 0, count: 3 * 32 * 32), size: nil)
        #expect(throws: ModelProblem.badInput("an image needs 16 <image_soft_token> ids in a row (Gemma3Processor's expansion of <start_of_image>), found 2 at position 1")) {
            try model.prepare(ids: [1, 319, 319, 2], images: [image])
        }
        #expect(throws: ModelProblem.badInput("1 images were given but the prompt holds 0 image runs (one <start_of_image> per image)")) {
            try model.prepare(ids: [1, 2], images: [image])
        }
        #expect(throws: ModelProblem.badInput("the prompt needs 513 tokens (0 for images), but the model's context is 512 (max_position_embeddings)")) {
            try model.prepare(ids: [Int](repeating: 1, count: 513), images: [])
        }
        #expect(throws: ModelProblem.badInput("token id 320 at position 0 is outside the vocabulary (0..<320)")) {
            try model.prepare(ids: [320], images: [])
        }
        #expect(throws: ModelProblem.badPixelValues("pixel values hold 10 floats; Gemma 3's tower needs 3×32×32 = 3072")) {
            let input = try model.prepare(ids: [Int](repeating: 319, count: 16), images: [image])
            _ = try model.generate(input, images: [PreparedImage(pixelValues: [Float](repeating: 0, count: 10), size: nil)], maxTokens: 1)
        }
    }
}

/// Gemma 3 through the commands against the PyTorch EAH reference
/// (tools/make_gemma3_command_fixtures.py): calibrate counts the reference's sinks over each
/// input's soft-token columns and picks its heads; patch --report then eah-run answers as the
/// reference does with those heads; baked and runtime-static bundles match the reference's static
/// EAH, and unpatch gives the model back bit-exact.
@Suite("Gemma 3 through the commands")
struct Gemma3CommandTests {
    static func json(_ path: String) throws -> JSONValue {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
    }

    /// eah-run's logits and tokens for image 0 of facts.json (5 new tokens).
    static func run(_ model: String, extra: [String] = []) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let (path, question) = try Gemma3Tests.image(0)
        let result = try CommandRunner.run("eah-run", [model, "--image", path, "--prompt", question, "--max-tokens", "5",
                                                      "--logits-out", out, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        let logits = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (logits, ints(document["tokens"]))
    }

    @Test("baked and runtime-static bundles answer as the reference's static EAH; --no-eah and unpatch give the model back")
    func bundlesMatchTheReference() throws {
        let directory = TemporaryDirectory()
        let eah = try Self.json(Fixtures.path("gemma3/eah.json"))
        let headFlags = Self.ints(eah["static_heads"]).enumerated().flatMap { ["--head", "\($0.offset):\($0.element)"] }
        #expect(headFlags.count == 4)
        func patch(_ name: String, _ flags: [String]) throws -> String {
            let result = try CommandRunner.run("eah-convert", ["patch", Gemma3Tests.folder, "-o", directory.file(name)] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            return directory.file(name)
        }
        let baked = try patch("baked", headFlags + ["--bake"]), runtime = try patch("static", headFlags + ["--phase", "all"])
        let logits = try #require(LlavaFixtures.floats("../gemma3/eah.safetensors", "logits_static_0"))
        let tokens = try #require(LlavaFixtures.integers("../gemma3/eah.safetensors", "generated_static_0"))
        for bundle in [baked, runtime] {
            let run = try Self.run(bundle)
            #expect(run.tokens == tokens, "\(bundle)")
            #expect(Gemma3Tests.worst(run.logits, logits) <= 1e-4, "\(bundle)")
        }
        let plain = try Self.run(baked, extra: ["--no-eah"])
        #expect(Gemma3Tests.worst(plain.logits, try #require(LlavaFixtures.floats(Gemma3Tests.expected, "logits_0"))) <= 1e-4)
        #expect(plain.tokens == (try #require(LlavaFixtures.integers(Gemma3Tests.expected, "generated_0"))))
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let original = try Data(contentsOf: URL(fileURLWithPath: Gemma3Tests.folder + "/model.safetensors"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored + "/model.safetensors")) == original)
    }

    @Test("calibrate counts the reference's sinks and picks its heads; patch --report then eah-run answers as the reference")
    func calibrateThenPatchAnswersAsTheReference() throws {
        let commands = try Self.json(Fixtures.path("gemma3/commands.json"))
        let directory = TemporaryDirectory()
        guard case .number(let beta)? = commands["beta"], case .array(let samples)? = commands["samples"],
              case .integer(let stop)? = commands["stop_token"] else { Issue.record("commands.json"); return }
        let lines = samples.map { sample -> String in
            guard case .string(let image)? = sample["image"] else { return "" }
            return JSONValue.object([("image", .string(Fixtures.path("images/valid/\(image)"))), ("prompt", sample["prompt"] ?? .null)]).serialized
        }
        let data = directory.write("data.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        let calibrate = try CommandRunner.run("eah-convert", ["calibrate", Gemma3Tests.folder, "--data", data, "--layers", "0-1",
                                                             "--beta", String(beta), "-o", directory.file("report.json")])
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        let report = try Self.json(directory.file("report.json"))
        guard case .array(let layers)? = report["statistics"]?["layers"], case .array(let summary)? = report["summary"] else {
            Issue.record("no statistics in \(report.serialized)")
            return
        }
        // Every sample has 16 image tokens: the per-count sums add the samples' counts.
        for (index, layer) in layers.enumerated() {
            var total = [Int](repeating: 0, count: 4)
            for sample in samples {
                guard case .array(let counts)? = sample["sink_counts"] else { continue }
                for (h, c) in Self.ints(counts[index]).enumerated() { total[h] += c }
            }
            #expect(Self.ints(layer["counts_by_image_tokens"]?["16"]) == total, "layer \(index)")
        }
        #expect(summary.map { Self.ints(.array([$0["chosen_head"] ?? .null]))[0] } == Self.ints(commands["chosen_heads"]))

        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", Gemma3Tests.folder, "-o", bundle, "--report", directory.file("report.json")])
        #expect(patch.status == 0, "\(patch.stderr)")
        for (k, sample) in samples.enumerated() {
            guard case .string(let image)? = sample["image"], case .string(let prompt)? = sample["prompt"] else { continue }
            let result = try CommandRunner.run("eah-run", [bundle, "--image", Fixtures.path("images/valid/\(image)"), "--prompt", prompt,
                                                          "--max-tokens", "5", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let tokens = Self.ints(try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["tokens"])
            var expected = Self.ints(sample["static_generated"])
            if let index = expected.firstIndex(of: stop) { expected = Array(expected[...index]) }
            #expect(tokens == expected, "sample \(k)")
        }
    }
}
