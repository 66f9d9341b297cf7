import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// Qwen2-VL and Qwen2.5-VL through every command against transformers 5.24 with the PyTorch EAH
/// reference (tools/make_qwen2vl_fixtures.py, tools/make_qwen2vl_command_fixtures.py): calibrate
/// (shards merged) counts the same sinks over each input's own `<|image_pad|>` columns and picks
/// the same heads; patch --report then eah-run answers as the reference does with those heads;
/// dynamic, runtime-static and baked bundles (safetensors and the GGUF source) give the reference's
/// logits and tokens; --no-eah and unpatch give the model back.
@Suite("Qwen2-VL and Qwen2.5-VL through every command")
struct Qwen2VLCommandTests {
    static let models = ["qwen2vl", "qwen25vl"]

    static func folder(_ model: String) -> String { Fixtures.path("qwen2vl/\(model)/hf-save") }
    static func imagePath(_ name: String) -> String { Fixtures.path("images/valid/\(name)") }

    static func json(_ path: String) throws -> JSONValue {
        let file = try MappedFile(path: path)
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    /// The reference's greedy tokens as eah-run gives them: through the first stop token.
    static func untilStop(_ tokens: [Int], stop: Int) -> [Int] {
        guard let index = tokens.firstIndex(of: stop) else { return tokens }
        return Array(tokens[...index])
    }

    /// eah-run's logits and tokens for image `k` of facts.json (5 new tokens).
    static func run(_ model: String, facts: JSONValue, image k: Int, extra: [String] = []) throws -> (logits: [Float], tokens: [Int]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        guard case .array(let images)? = facts["images"], case .string(let file)? = images[k]["file"], case .string(let question)? = images[k]["question"] else {
            throw CheckpointError(path: "facts.json", problem: ModelProblem.badInput("no image \(k)"))
        }
        let result = try CommandRunner.run("eah-run", [model, "--image", imagePath(file), "--prompt", question, "--max-tokens", "5",
                                                      "--logits-out", out, "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let reader = try SafetensorsReader(path: out)
        let tensor = try #require(reader.tensor(named: "logits"))
        let logits = try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        return (logits, ints(document["tokens"]))
    }

    /// A JSONL of the four fixture images with their questions, in facts.json's order.
    static func data(_ commands: JSONValue, in directory: TemporaryDirectory) -> String {
        guard case .array(let samples)? = commands["samples"] else { return "" }
        let lines = samples.map { sample -> String in
            guard case .string(let image)? = sample["image"] else { return "" }
            return JSONValue.object([("image", .string(imagePath(image))), ("prompt", sample["prompt"] ?? .null)]).serialized
        }
        return directory.write("data.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
    }

    @Test("calibrate (whole and merged shards) counts the reference's sinks per sample and picks its heads; patch --report then eah-run answers as the reference", arguments: models)
    func calibrateThenPatchAnswersAsTheReference(_ model: String) throws {
        let commands = try Self.json(Fixtures.path("qwen2vl/\(model)/commands.json"))
        let directory = TemporaryDirectory()
        let data = Self.data(commands, in: directory)
        guard case .number(let beta)? = commands["beta"], case .array(let samples)? = commands["samples"],
              case .integer(let stop)? = commands["stop_token"] else { Issue.record("commands.json"); return }
        func calibrate(_ extra: [String], _ name: String) throws {
            let result = try CommandRunner.run("eah-convert", ["calibrate", Self.folder(model), "--data", data, "--layers", "0-1",
                                                              "--beta", String(beta), "-o", directory.file(name)] + extra)
            #expect(result.status == 0, "\(result.stderr)")
        }
        try calibrate([], "whole.json")
        try calibrate(["--shard", "0/2"], "s0.json")
        try calibrate(["--shard", "1/2"], "s1.json")
        let merge = try CommandRunner.run("eah-convert", ["calibrate", "--merge", directory.file("s0.json"), directory.file("s1.json"),
                                                         "-o", directory.file("merged.json")])
        #expect(merge.status == 0, "\(merge.stderr)")
        let whole = try Self.json(directory.file("whole.json")), merged = try Self.json(directory.file("merged.json"))
        #expect(merged["statistics"] == whole["statistics"] && merged["summary"] == whole["summary"])
        #expect(whole["model"]?["layout"] == .string("qwen2-vl-hf"))

        // Each sample's image tokens (its own resolution), recorded by its index in the data.
        guard case .array(let bySample)? = whole["statistics"]?["image_tokens_by_sample"] else { Issue.record("no image_tokens_by_sample"); return }
        #expect(bySample.map { Self.ints(.array([$0["sample"] ?? .null, $0["image_tokens"] ?? .null])) }
                == samples.enumerated().map { [$0.offset, Self.ints(.array([$0.element["image_tokens"] ?? .null]))[0]] })
        // Every sample has its own image-token count here, so the per-count sums are per-sample counts.
        guard case .array(let layers)? = whole["statistics"]?["layers"] else { Issue.record("no statistics"); return }
        for (index, layer) in layers.enumerated() {
            for sample in samples {
                guard case .integer(let tokens)? = sample["image_tokens"], case .array(let counts)? = sample["sink_counts"] else { continue }
                #expect(Self.ints(layer["counts_by_image_tokens"]?[String(tokens)]) == Self.ints(counts[index]), "layer \(index), \(tokens) image tokens")
            }
        }
        guard case .array(let summary)? = whole["summary"] else { Issue.record("no summary"); return }
        #expect(summary.map { Self.ints(.array([$0["chosen_head"] ?? .null]))[0] } == Self.ints(commands["chosen_heads"]))

        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.folder(model), "-o", bundle, "--report", directory.file("whole.json")])
        #expect(patch.status == 0, "\(patch.stderr)")
        for (k, sample) in samples.enumerated() {
            guard case .string(let image)? = sample["image"], case .string(let prompt)? = sample["prompt"] else { continue }
            let result = try CommandRunner.run("eah-run", [bundle, "--image", Self.imagePath(image), "--prompt", prompt, "--max-tokens", "5", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let tokens = Self.ints(try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["tokens"])
            #expect(tokens == Self.untilStop(Self.ints(sample["static_generated"]), stop: stop), "sample \(k)")
        }
    }

    @Test("dynamic, runtime-static and baked bundles give the reference's logits and tokens; --no-eah and unpatch give the model back", arguments: models)
    func bundlesMatchTheReference(_ model: String) throws {
        let eah = try Self.json(Fixtures.path("qwen2vl/\(model)/eah.json")), facts = try Self.json(Fixtures.path("qwen2vl/\(model)/facts.json"))
        try Self.checkBundles(source: [Self.folder(model)], model: model, eah: eah, facts: facts, weights: "model.safetensors",
                              original: Self.folder(model) + "/model.safetensors")
    }

    @Test("the llama.cpp GGUF source (text + qwen2vl_merger mmproj) patches, bakes and unpatches as the transformers folder does")
    func ggufSource() throws {
        let model = "qwen2vl", base = Fixtures.path("qwen2vl/qwen2vl/")
        let folder = TemporaryDirectory()
        // The GGUF pair with transformers' processor settings and template beside it.
        for (name, from) in [("text-f32.gguf", "gguf/"), ("mmproj-f32.gguf", "gguf/"), ("processor_config.json", "hf-save/"), ("chat_template.jinja", "hf-save/")] {
            folder.write(name, Array(try Data(contentsOf: URL(fileURLWithPath: base + from + name))))
        }
        let eah = try Self.json(base + "eah.json"), facts = try Self.json(base + "facts.json")
        let plain = try Self.run(folder.file("text-f32.gguf"), facts: facts, image: 0, extra: ["--mmproj", folder.file("mmproj-f32.gguf")])
        #expect(Self.worst(plain.logits, try #require(LlavaFixtures.floats("../qwen2vl/qwen2vl/expected.safetensors", "logits_0"))) <= 1e-4)
        try Self.checkBundles(source: [folder.file("text-f32.gguf"), "--mmproj", folder.file("mmproj-f32.gguf")], model: model, eah: eah, facts: facts,
                              weights: "model.gguf", original: nil)
    }

    /// Bundles of `source` (the model and its companion flags) against eah.json's cases (fixtures
    /// under `Fixtures/<family>/<model>/`).
    static func checkBundles(source: [String], model: String, eah: JSONValue, facts: JSONValue, weights: String, original: String?,
                             family: String = "qwen2vl") throws {
        let directory = TemporaryDirectory()
        guard case .array(let cases)? = eah["cases"] else { Issue.record("eah.json"); return }
        let heads = ints(eah["static_heads"])
        let expected = "../\(family)/\(model)/expected.safetensors", reference = "../\(family)/\(model)/eah.safetensors"
        let headFlags = heads.enumerated().flatMap { ["--head", "\($0.offset):\($0.element)"] }
        func patch(_ name: String, _ flags: [String]) throws -> String {
            let result = try CommandRunner.run("eah-convert", ["patch"] + source + ["-o", directory.file(name)] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            return directory.file(name)
        }
        let baked = try patch("baked", headFlags + ["--bake"]), runtime = try patch("static", headFlags + ["--phase", "all"])
        for testCase in cases {
            guard case .string(let name)? = testCase["name"], case .integer(let k)? = testCase["image"] else { continue }
            let logits = try #require(LlavaFixtures.floats(reference, "logits_\(name)")), tokens = try #require(LlavaFixtures.integers(reference, "generated_\(name)"))
            var bundles = [baked, runtime]
            if testCase["selection"] == .string("dynamic"), case .number(let beta)? = testCase["beta"] {
                bundles = [try patch("dynamic-\(k)", ["--selection", "dynamic", "--layer", "0,1", "--beta", String(beta), "--phase", "all"])]
            }
            for bundle in bundles {
                let run = try run(bundle, facts: facts, image: k)
                #expect(run.tokens == tokens, "\(name) \(bundle)")
                #expect(worst(run.logits, logits) <= 1e-4, "\(name) \(bundle)")
            }
        }
        let plain = try run(baked, facts: facts, image: 0, extra: ["--no-eah"])
        #expect(worst(plain.logits, try #require(LlavaFixtures.floats(expected, "logits_0"))) <= 1e-4)
        #expect(plain.tokens == (try #require(LlavaFixtures.integers(expected, "generated_0"))))

        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", baked, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        let restoredWeights = try Data(contentsOf: URL(fileURLWithPath: restored + "/" + weights))
        // The runtime-static bundle holds the weights as the bundle writer copies them.
        #expect(restoredWeights == (try Data(contentsOf: URL(fileURLWithPath: runtime + "/" + weights))))
        if let original { #expect(restoredWeights == (try Data(contentsOf: URL(fileURLWithPath: original)))) }
    }

    @Test("eval (POPE) runs on Qwen2-VL and InternVL with and without EAH", arguments: ["qwen2vl/qwen2vl/hf-save", "internvl/internvl/hf-save"])
    func eval(_ model: String) throws {
        let directory = TemporaryDirectory()
        for name in ["rgb_37x53.png", "rgb_301x97_444.jpg"] { try FileManager.default.copyItem(atPath: Self.imagePath(name), toPath: directory.file(name)) }
        let annotations = """
            {"images": [{"id": 1, "file_name": "rgb_37x53.png"}, {"id": 2, "file_name": "rgb_301x97_444.jpg"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 2}],
             "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "car"}]}
            """
        let data = directory.write("instances.json", Array(annotations.utf8))
        for flags in [["--eah-layer", "0,1"], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-convert", ["eval", Fixtures.path(model), "--data", data, "--images", directory.path, "--metric", "pope",
                                                              "--max-tokens", "3", "--json"] + flags)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(document["metric"] == .string("pope") && document["eah"] == .bool(flags != ["--no-eah"]))
        }
    }

    @Test("eah-run --chat answers its first message as a one-shot eah-run does, with dynamic EAH and without", arguments: models)
    func chatCommand(_ model: String) throws {
        let image = Self.imagePath("rgb_37x53.png")
        for extra in [[String](), ["--eah-layer", "0,1", "--eah-beta", "0.03", "--eah-phase", "all"]] {
            let once = try CommandRunner.run("eah-run", [Self.folder(model), "--image", image, "--prompt", "What is in the picture?", "--max-tokens", "5"] + extra)
            #expect(once.status == 0, "\(once.stderr)")
            let chat = try CommandRunner.run("eah-run", [Self.folder(model), "--chat", "--image", image, "--max-tokens", "5"] + extra,
                                             standardInput: Data("What is in the picture?\n".utf8))
            #expect(chat.status == 0, "\(chat.stderr)")
            #expect(!once.stdout.isEmpty && chat.stdout == once.stdout, "\(extra)")
        }
    }

    @Test("--input-ids with --pixel-values is refused for Qwen2-VL, saying why and what to pass")
    func rawPixelValuesRefused() throws {
        let result = try CommandRunner.run("eah-run", [Self.folder("qwen2vl"), "--input-ids", "314,318,315", "--pixel-values",
                                                      Fixtures.path("images/pixel_values_llava.safetensors")])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Qwen2-VL reads each image at its own resolution, so bare pixel values lack the patch grid; pass --image and --prompt instead"),
                "\(result.stderr)")
    }

    @Test("--image-mode is refused for Qwen2-VL as a usage error naming the flag")
    func imageModeRefused() throws {
        let result = try CommandRunner.run("eah-run", [Self.folder("qwen2vl"), "--image", Self.imagePath("rgb_301x97_444.jpg"),
                                                      "--prompt", "hi", "--image-mode", "pad"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--image-mode pad does not apply to Qwen2-VL, which resizes each image to its own patch grid; drop the flag"),
                "\(result.stderr)")
    }

    @Test("a chat's second turn reuses the cache (M-RoPE positions included) and answers as a fresh run of the whole conversation", arguments: models)
    func chatReusesTheCache(_ model: String) throws {
        let pipeline = try ModelPipeline(model: Self.folder(model))
        let conversation = ChatConversation(pipeline: pipeline, hook: nil, maxTokens: 6)
        let image = try pipeline.image(path: Self.imagePath("rgb_301x97_444.jpg"))
        #expect(image.grid == PatchGrid(t: 1, h: 6, w: 20))
        conversation.attachImage(image)
        let first = try conversation.send("Count the dogs, please!")
        let firstPrompt = try pipeline.prompt(messages: [ChatMessage(role: .user, text: "Count the dogs, please!", hasImage: true)], images: [image])
        #expect(firstPrompt.image.count == 30 && firstPrompt.positionRows.count == 3)
        let second = try conversation.send("Is it gray?")
        #expect(conversation.reusedPositions >= firstPrompt.tokens.count)
        let whole = try pipeline.prompt(messages: Array(conversation.messages.dropLast()), images: [image])
        let fresh = try pipeline.model.generate(whole, images: [image], maxTokens: 6, stopTokens: pipeline.stopTokens)
        #expect(!first.isEmpty)
        #expect(second == (try pipeline.tokenizer.decode(fresh.tokens.filter { !pipeline.stopTokens.contains($0) })))
    }
}
