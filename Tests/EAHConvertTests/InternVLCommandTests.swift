import EAH
import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// InternVL through the commands against transformers 5.24 with the PyTorch EAH reference
/// (tools/make_internvl_fixtures.py, tools/make_internvl_command_fixtures.py): calibrate counts the
/// reference's sinks over each input's `<IMG_CONTEXT>` columns (every tile and the thumbnail) and
/// picks its heads; patch --report then eah-run answers as the reference does with those heads.
@Suite("InternVL through the commands")
struct InternVLCommandTests {
    typealias Q = Qwen2VLCommandTests
    static let models = ["internvl"]

    static func folder(_ model: String) -> String { Fixtures.path("internvl/\(model)/hf-save") }

    @Test("calibrate counts the reference's sinks per sample and picks its heads; patch --report then eah-run answers as the reference", arguments: models)
    func calibrateThenPatchAnswersAsTheReference(_ model: String) throws {
        let commands = try Q.json(Fixtures.path("internvl/\(model)/commands.json"))
        let directory = TemporaryDirectory()
        let data = Q.data(commands, in: directory)
        guard case .number(let beta)? = commands["beta"], case .array(let samples)? = commands["samples"],
              case .integer(let stop)? = commands["stop_token"] else { Issue.record("commands.json"); return }
        let calibrate = try CommandRunner.run("eah-convert", ["calibrate", Self.folder(model), "--data", data, "--layers", "0-1",
                                                             "--beta", String(beta), "-o", directory.file("report.json")])
        #expect(calibrate.status == 0, "\(calibrate.stderr)")
        let report = try Q.json(directory.file("report.json"))
        #expect(report["model"]?["layout"] == .string("internvl-hf"))

        guard case .array(let bySample)? = report["statistics"]?["image_tokens_by_sample"] else { Issue.record("no image_tokens_by_sample"); return }
        #expect(bySample.map { Q.ints(.array([$0["sample"] ?? .null, $0["image_tokens"] ?? .null])) }
                == samples.enumerated().map { [$0.offset, Q.ints(.array([$0.element["image_tokens"] ?? .null]))[0]] })
        // Every sample has its own tile count, so the per-count sums are per-sample counts.
        guard case .array(let layers)? = report["statistics"]?["layers"] else { Issue.record("no statistics"); return }
        for (index, layer) in layers.enumerated() {
            for sample in samples {
                guard case .integer(let tokens)? = sample["image_tokens"], case .array(let counts)? = sample["sink_counts"] else { continue }
                #expect(Q.ints(layer["counts_by_image_tokens"]?[String(tokens)]) == Q.ints(counts[index]), "layer \(index), \(tokens) image tokens")
            }
        }
        guard case .array(let summary)? = report["summary"] else { Issue.record("no summary"); return }
        #expect(summary.map { Q.ints(.array([$0["chosen_head"] ?? .null]))[0] } == Q.ints(commands["chosen_heads"]))

        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.folder(model), "-o", bundle, "--report", directory.file("report.json")])
        #expect(patch.status == 0, "\(patch.stderr)")
        for (k, sample) in samples.enumerated() {
            guard case .string(let image)? = sample["image"], case .string(let prompt)? = sample["prompt"] else { continue }
            let result = try CommandRunner.run("eah-run", [bundle, "--image", Q.imagePath(image), "--prompt", prompt, "--max-tokens", "5", "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let tokens = Q.ints(try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))["tokens"])
            #expect(tokens == Q.untilStop(Q.ints(sample["static_generated"]), stop: stop), "sample \(k)")
        }
    }

    @Test("eah-run on the plain model gives transformers' logits and tokens for the many-tile image")
    func runMatchesTransformers() throws {
        let facts = try Q.json(Fixtures.path("internvl/internvl/facts.json"))
        let expected = "../internvl/internvl/expected.safetensors"
        let run = try Q.run(Self.folder("internvl"), facts: facts, image: 2)
        #expect(Q.worst(run.logits, try #require(LlavaFixtures.floats(expected, "logits_2"))) <= 1e-4)
        #expect(run.tokens == Q.untilStop(try #require(LlavaFixtures.integers(expected, "generated_2")), stop: 315))
    }

    /// A safetensors file holding `values` as `pixel_values` of `shape`.
    static func pixelFile(_ values: [Float], shape: [Int], in directory: TemporaryDirectory) throws -> String {
        let path = directory.file("pixels.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: true, tensors: [TensorPlan(name: "pixel_values", dtype: .f32, shape: shape)])
        try writer.write(values.withUnsafeBytes { Array($0) })
        try writer.finish()
        return path
    }

    @Test("eah-run --input-ids --pixel-values takes the processor's tiles ([tiles, 3, size, size]) and refuses other shapes, naming the file")
    func rawInputs() throws {
        let expected = "../internvl/internvl/expected.safetensors", directory = TemporaryDirectory()
        let pixels = try #require(LlavaFixtures.floats(expected, "pixel_values_2"))
        let ids = try #require(LlavaFixtures.integers(expected, "input_ids_2")).map(String.init).joined(separator: ",")
        let file = try Self.pixelFile(pixels, shape: [13, 3, 32, 32], in: directory)
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [Self.folder("internvl"), "--input-ids", ids, "--pixel-values", file, "--max-tokens", "5",
                                                      "--logits-out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let reader = try SafetensorsReader(path: out)
        let logits = try reader.bytes(of: try #require(reader.tensor(named: "logits"))).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        #expect(Q.worst(logits, try #require(LlavaFixtures.floats(expected, "logits_2"))) <= 1e-4)

        let bad = try Self.pixelFile([Float](repeating: 0, count: 3 * 16 * 16), shape: [1, 3, 16, 16], in: directory)
        let refused = try CommandRunner.run("eah-run", [Self.folder("internvl"), "--input-ids", ids, "--pixel-values", bad])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains(bad) && refused.stderr.contains("'pixel_values' is F32 [1, 3, 16, 16]; InternVL needs F32 [tiles, 3, 32, 32]"), "\(refused.stderr)")
    }

    // MARK: The release layout and llama.cpp's files

    static let original = Fixtures.path("internvl/internvl/original")
    static let gguf = Fixtures.path("internvl/internvl/gguf")

    /// The llama.cpp pair with the `-hf` folder's template beside it (as a user would keep them).
    static func ggufFolder() throws -> TemporaryDirectory {
        let folder = TemporaryDirectory()
        for name in ["text-f32.gguf", "mmproj-f32.gguf"] {
            folder.write(name, Array(try Data(contentsOf: URL(fileURLWithPath: gguf + "/" + name))))
        }
        return folder
    }

    @Test("eah-run on the release layout and on llama.cpp's pair gives transformers' logits and tokens for the many-tile image")
    func otherLayoutsRunAsTransformers() throws {
        let facts = try Q.json(Fixtures.path("internvl/internvl/facts.json"))
        let expected = "../internvl/internvl/expected.safetensors", folder = try Self.ggufFolder()
        for (model, extra) in [(Self.original, [String]()), (folder.file("text-f32.gguf"), ["--mmproj", folder.file("mmproj-f32.gguf")])] {
            let run = try Q.run(model, facts: facts, image: 2, extra: extra)
            #expect(Q.worst(run.logits, try #require(LlavaFixtures.floats(expected, "logits_2"))) <= 1e-4, "\(model)")
            #expect(run.tokens == Q.untilStop(try #require(LlavaFixtures.integers(expected, "generated_2")), stop: 315), "\(model)")
        }
    }

    @Test("dynamic, runtime-static and baked bundles of the -hf folder, the release layout and llama.cpp's pair give the reference's logits; --no-eah and unpatch give the model back",
          arguments: ["hf-save", "original", "gguf"])
    func bundlesMatchTheReference(_ layout: String) throws {
        let eah = try Q.json(Fixtures.path("internvl/internvl/eah.json")), facts = try Q.json(Fixtures.path("internvl/internvl/facts.json"))
        if layout == "gguf" {
            let folder = try Self.ggufFolder()
            try Q.checkBundles(source: [folder.file("text-f32.gguf"), "--mmproj", folder.file("mmproj-f32.gguf")], model: "internvl", eah: eah, facts: facts,
                               weights: "model.gguf", original: nil, family: "internvl")
        } else {
            let folder = Fixtures.path("internvl/internvl/\(layout)")
            try Q.checkBundles(source: [folder], model: "internvl", eah: eah, facts: facts, weights: "model.safetensors",
                               original: folder + "/model.safetensors", family: "internvl")
        }
    }

    @Test("eah-run --chat answers its first message as a one-shot eah-run does, on the -hf folder and the release layout")
    func chatCommand() throws {
        let image = Q.imagePath("rgb_37x53.png")
        for model in [Self.folder("internvl"), Self.original] {
            let once = try CommandRunner.run("eah-run", [model, "--image", image, "--prompt", "Describe it.", "--max-tokens", "5"])
            #expect(once.status == 0, "\(once.stderr)")
            let chat = try CommandRunner.run("eah-run", [model, "--chat", "--image", image, "--max-tokens", "5"], standardInput: Data("Describe it.\n".utf8))
            #expect(chat.status == 0, "\(chat.stderr)")
            #expect(!once.stdout.isEmpty && chat.stdout == once.stdout, "\(model)")
        }
    }

    @Test("convert --to gguf writes from the release folder the very files llama.cpp's convert_hf_to_gguf.py writes; patch --bake --to gguf runs as the static EAH reference and unpatches to the plain export")
    func llamaCppExport() throws {
        let directory = TemporaryDirectory()
        // Every type llama.cpp's converter writes: the same bytes (converter-sha256.json; the f32 pair is committed).
        let digests = try Q.json(Self.gguf + "/converter-sha256.json")
        for dtype in ["f32", "f16", "bf16", "q8_0"] {
            let convert = try CommandRunner.run("eah-convert", ["convert", Self.original, "--to", "gguf", "--tokenizer-pre", "qwen2", "--dtype", dtype,
                                                               "-o", directory.file("\(dtype).gguf")])
            #expect(convert.status == 0, "\(convert.stderr)")
            for (written, reference) in [("\(dtype).gguf", "text-\(dtype).gguf"), ("mmproj-\(dtype).gguf", "mmproj-\(dtype).gguf")] {
                #expect(try .string(FileDigest.sha256(path: directory.file(written))) == digests[reference], "\(written)")
            }
        }
        // Without --tokenizer-pre the tiny tokenizer's pre-tokenizer hash is unknown to llama.cpp, as its converter says too.
        let unknown = try CommandRunner.run("eah-convert", ["convert", Self.original, "--to", "gguf", "-o", directory.file("other.gguf")])
        #expect(unknown.status == 1 && unknown.stderr.contains("--tokenizer-pre"), "\(unknown.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("other.gguf")))

        let eah = try Q.json(Fixtures.path("internvl/internvl/eah.json")), facts = try Q.json(Fixtures.path("internvl/internvl/facts.json"))
        let heads = Q.ints(eah["static_heads"]).enumerated().flatMap { ["--head", "\($0.offset):\($0.element)"] }
        let bundle = directory.file("baked")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.original, "--bake", "--to", "gguf", "--tokenizer-pre", "qwen2", "--dtype", "f32", "-o", bundle] + heads)
        #expect(patch.status == 0, "\(patch.stderr)")
        let reference = "../internvl/internvl/eah.safetensors"
        let run = try Q.run(bundle, facts: facts, image: 0)
        #expect(Q.worst(run.logits, try #require(LlavaFixtures.floats(reference, "logits_static_0"))) <= 1e-4)
        #expect(run.tokens == Q.untilStop(try #require(LlavaFixtures.integers(reference, "generated_static_0")), stop: 315))
        #expect(try Data(contentsOf: URL(fileURLWithPath: bundle + "/mmproj.gguf")) == (try Data(contentsOf: URL(fileURLWithPath: Self.gguf + "/mmproj-f32.gguf"))))
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: restored + "/model.gguf")) == (try Data(contentsOf: URL(fileURLWithPath: Self.gguf + "/text-f32.gguf"))))
    }
}
