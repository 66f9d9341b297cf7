import EAH
import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// LLaVA-NeXT from llama.cpp's text GGUF and legacy mmproj (tools/make_llava_next_gguf_fixtures.py):
/// the image follows llama.cpp's layout (slices row-major, then the overview; no unpad, no
/// newline). What llama.cpp itself reported for each image (its prompt, the slices it cut, the
/// number of prompt positions it evaluated) and the prompt ids llama-tokenize gives are in
/// expected.json; the pixel values, logits and greedy tokens are transformers 5.24's (eager) on that
/// layout with the mmproj's weights.
@Suite("LLaVA-NeXT from llama.cpp GGUF + mmproj")
struct LlavaNextGGUFTests {
    static let folder = Fixtures.path("llava-next-gguf")
    static let text = folder + "/text-f32.gguf", mmproj = folder + "/mmproj-f32.gguf"
    static let images = ["wide", "tall", "tiny", "large"]

    static func facts(_ image: String) throws -> JSONValue {
        let json = try JSONParser.parse(Array(try String(contentsOfFile: folder + "/expected.json", encoding: .utf8).utf8))
        guard case .array(let items)? = json["images"], let item = items.first(where: { $0["name"] == .string(image) }) else {
            throw CheckpointError(path: folder + "/expected.json", problem: ModelProblem.badInput("no facts for \(image)"))
        }
        return item
    }

    static func floats(_ image: String, _ name: String) -> [Float]? { LlavaFixtures.floats("../llava-next-gguf/\(image).safetensors", name) }
    static func integers(_ image: String, _ name: String) -> [Int]? { LlavaFixtures.integers("../llava-next-gguf/\(image).safetensors", name) }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("the prompt ids, the image positions llama.cpp evaluated, pixel values, logits and greedy tokens", arguments: images)
    func matchesLlamaCppLayout(_ image: String) throws {
        let facts = try Self.facts(image)
        guard case .string(let promptText)? = facts["prompt"], case .integer(let llamaPositions)? = facts["llama_cpp_prompt_tokens"],
              case .integer(let imageTokens)? = facts["image_token_count"], case .integer(let slices)? = facts["slices"] else {
            Issue.record("facts")
            return
        }
        let pipeline = try ModelPipeline(model: Self.text, mmproj: Self.mmproj)
        #expect(pipeline.model.family == "llava-next")
        let ids = pipeline.processor.encode(promptText, addBOS: true)
        #expect(ids == (try #require(Self.integers(image, "input_ids"))), "llama-tokenize's ids per text segment")
        let prepared = try pipeline.image(path: Fixtures.path("llava-next/\(image).png"))
        let reference = try #require(Self.floats(image, "pixel_values"))
        #expect(prepared.pixelValues.count == reference.count)
        // Pillow's bicubic on both sides: equal up to float rounding of the normalisation.
        #expect(Self.worst(prepared.pixelValues, reference) <= 1e-5, "pixel values")
        let input = try pipeline.prepare(ids: ids, images: [prepared], path: "prompt")
        #expect(input.tokens.count == llamaPositions, "llama-mtmd-cli evaluated \(llamaPositions) prompt positions")
        #expect(input.image.count == imageTokens)
        let kinds = input.image.runs.flatMap(\.kinds)
        #expect(kinds == [ImagePositionKind](repeating: .tile, count: slices * 9) + [ImagePositionKind](repeating: .base, count: 9))

        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(Self.worst(try #require(result.logits), try #require(Self.floats(image, "logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(Self.integers(image, "generated"))))
    }

    @Test("a baked GGUF bundle equals the static EAH reference; unpatch restores both GGUF files bit for bit", arguments: ["wide", "tiny"])
    func bakedBundle(_ image: String) throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("baked"), restored = directory.file("restored")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.text, "--mmproj", Self.mmproj, "--head", "1:2", "--bake", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        guard case .string(let promptText)? = try Self.facts(image)["prompt"] else { Issue.record("prompt"); return }
        let pipeline = try ModelPipeline(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")
        let prepared = try pipeline.image(path: Fixtures.path("llava-next/\(image).png"))
        let input = try pipeline.prepare(ids: pipeline.processor.encode(promptText, addBOS: true), images: [prepared], path: "prompt")
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        #expect(Self.worst(try #require(result.logits), try #require(Self.floats(image, "eah_static_logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(Self.integers(image, "eah_static_generated"))))
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/model.gguf", andPath: Self.text))
        #expect(FileManager.default.contentsEqual(atPath: restored + "/mmproj.gguf", andPath: Self.mmproj))
    }

    @Test("inspect names llama.cpp's image layout for the mmproj")
    func inspectSaysTheLayout() throws {
        let result = try CommandRunner.run("eah-convert", ["inspect", Self.mmproj])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("llama.cpp-mmproj (llava-next: llama.cpp packing, the pinpoint's slices row-major then the overview, without unpad or image_newline)"),
                "\(result.stdout)")
    }

    @Test("eah-run answers from the GGUF pair; a pinpoint list that is not pairs is refused naming the key")
    func runsAndRefusesBadPinpoints() throws {
        let run = try CommandRunner.run("eah-run", [Self.text, "--mmproj", Self.mmproj, "--image", Fixtures.path("llava-next/wide.png"),
                                                   "--prompt", "What is in the picture?", "--max-tokens", "3", "--json"])
        #expect(run.status == 0, "\(run.stderr)")

        var metadata = try GGUFReader(path: Self.mmproj).metadata
        let index = try #require(metadata.firstIndex { $0.key == "clip.vision.image_grid_pinpoints" })
        metadata[index] = MetadataEntry(key: metadata[index].key, value: .array(element: .uint32, [.uint32(42), .uint32(84), .uint32(84)]))
        #expect(throws: ModelProblem.badConfig(field: "clip.vision.image_grid_pinpoints", reason: "must be a non-empty flat list of (width, height) pairs")) {
            try LlavaConfigReader.ggufPinpoints(metadata, tile: 42)
        }
        metadata[index] = MetadataEntry(key: metadata[index].key, value: .array(element: .uint32, [.uint32(42), .uint32(50)]))
        #expect(throws: ModelProblem.badConfig(field: "clip.vision.image_grid_pinpoints", reason: "holds a value that is not a positive multiple of the image size 42")) {
            try LlavaConfigReader.ggufPinpoints(metadata, tile: 42)
        }
    }
}

/// LLaVA-NeXT through the CLI's calibration and evaluation, for each source layout: llava-hf, the
/// original release and llama.cpp's GGUF pair.
@Suite("LLaVA-NeXT: calibrate with shards and eval, every layout")
struct LlavaNextCommandTests {
    static let sources: [(name: String, arguments: [String])] = [
        ("llava-hf", [LlavaNextTests.model]),
        ("original", [LlavaNextOriginalTests.model, "--vision-tower", LlavaNextOriginalTests.tower]),
        ("gguf", [LlavaNextGGUFTests.text, "--mmproj", LlavaNextGGUFTests.mmproj]),
    ]

    @Test("calibrate: two shards merged equal the whole run", arguments: [0, 1, 2])
    func calibrateShards(_ source: Int) throws {
        let model = Self.sources[source].arguments
        let directory = TemporaryDirectory()
        var lines: [String] = []
        for name in ["wide", "tall", "large"] {
            try FileManager.default.copyItem(atPath: LlavaNextTests.imagePath(name), toPath: directory.file(name + ".png"))
            lines.append(JSONValue.object([("image", .string(name + ".png")), ("prompt", .string("What is in the picture?"))]).serialized)
        }
        let data = directory.write("data.jsonl", Array((lines.joined(separator: "\n") + "\n").utf8))
        func calibrate(_ extra: [String], _ name: String) throws {
            let result = try CommandRunner.run("eah-convert", ["calibrate"] + model + ["--data", data, "--layers", "0-1", "--beta", "0.02",
                                                                                      "-o", directory.file(name)] + extra)
            #expect(result.status == 0, "\(Self.sources[source].name): \(result.stderr)")
        }
        try calibrate([], "whole.json")
        try calibrate(["--shard", "0/2"], "s0.json")
        try calibrate(["--shard", "1/2"], "s1.json")
        let merge = try CommandRunner.run("eah-convert", ["calibrate", "--merge", directory.file("s0.json"), directory.file("s1.json"), "-o", directory.file("merged.json")])
        #expect(merge.status == 0, "\(merge.stderr)")
        func report(_ name: String) throws -> JSONValue {
            try JSONParser.parse(Array(try String(contentsOfFile: directory.file(name), encoding: .utf8).utf8))
        }
        let whole = try report("whole.json"), merged = try report("merged.json")
        #expect(whole["samples"] == .integer(3))
        #expect(merged["statistics"] == whole["statistics"] && merged["summary"] == whole["summary"])
        guard case .array(let layers)? = whole["summary"], case .array(let heads)? = layers.first?["heads"] else { Issue.record("no summary"); return }
        #expect(layers.count == 2 && heads.count == 4)
    }

    @Test("eval (POPE) runs with and without EAH", arguments: [0, 1, 2])
    func eval(_ source: Int) throws {
        let model = Self.sources[source].arguments
        let directory = TemporaryDirectory()
        for name in ["wide", "tall"] { try FileManager.default.copyItem(atPath: LlavaNextTests.imagePath(name), toPath: directory.file(name + ".png")) }
        let annotations = """
            {"images": [{"id": 1, "file_name": "wide.png"}, {"id": 2, "file_name": "tall.png"}],
             "annotations": [{"id": 1, "image_id": 1, "category_id": 1}, {"id": 2, "image_id": 2, "category_id": 2}],
             "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "car"}]}
            """
        let data = directory.write("instances.json", Array(annotations.utf8))
        for flags in [["--eah-layer", "1"], ["--no-eah"]] {
            let result = try CommandRunner.run("eah-convert", ["eval"] + model + ["--data", data, "--images", directory.path, "--metric", "pope",
                                                                                 "--max-tokens", "3", "--json"] + flags)
            #expect(result.status == 0, "\(Self.sources[source].name): \(result.stderr)")
            let document = try JSONParser.parse(Array(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).utf8))
            #expect(document["metric"] == .string("pope") && document["eah"] == .bool(flags != ["--no-eah"]))
        }
    }
}
