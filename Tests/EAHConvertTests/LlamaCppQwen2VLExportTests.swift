import EAH
import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// `convert --to gguf` of Qwen2-VL and Qwen2.5-VL writes what llama.cpp's convert_hf_to_gguf.py
/// writes (text, and `--mmproj`) for the tiny models of tools/make_qwen2vl_fixtures.py:
/// Tests/Fixtures/llamacpp-export/qwen2vl.json (tools/make_llamacpp_qwen2vl_fixtures.py) lists
/// every metadata entry and tensor of each output, in file order. The pair reads back through
/// our own llama.cpp reader (`Qwen2VLGGUF.swift`) with transformers' logits.
@Suite("llama.cpp layout: Qwen2-VL and Qwen2.5-VL as convert_hf_to_gguf writes them")
struct LlamaCppQwen2VLExportTests {
    static func folder(_ model: String) -> String { Fixtures.path("qwen2vl/\(model)/hf-save") }

    struct Case: Sendable, CustomTestStringConvertible {
        let model: String
        let dtype: String
        var testDescription: String { "\(model) \(dtype)" }
    }

    static let cases = ["qwen2vl", "qwen25vl"].flatMap { model in ["f32", "f16", "q8_0"].map { Case(model: model, dtype: $0) } }

    /// `eah-convert convert MODEL --to gguf` into `directory/NAME.gguf`.
    static func convert(_ model: String, dtype: String, into directory: TemporaryDirectory, extra: [String] = ["--tokenizer-pre", "qwen2"]) throws -> CommandRunner.Result {
        try CommandRunner.run("eah-convert", ["convert", folder(model), "--to", "gguf", "--dtype", dtype, "-o", directory.file("tiny.gguf")] + extra)
    }

    @Test("text model and mmproj equal llama.cpp's converter's", arguments: cases)
    func sameAsLlamaCpp(_ testCase: Case) throws {
        let directory = TemporaryDirectory()
        let result = try Self.convert(testCase.model, dtype: testCase.dtype, into: directory)
        #expect(result.status == 0, "\(result.stderr)")
        try LlamaCppExportTests.compare(directory.file("tiny.gguf"), with: "\(testCase.model)/text-\(testCase.dtype)", fixture: "llamacpp-export/qwen2vl.json")
        try LlamaCppExportTests.compare(directory.file("mmproj-tiny.gguf"), with: "\(testCase.model)/mmproj-\(testCase.dtype)", fixture: "llamacpp-export/qwen2vl.json")
        if testCase.model == "qwen25vl" {
            // The tiny model's 16-pixel windows are not what llama.cpp runs: said, not hidden.
            #expect(result.stderr.contains("eah-convert: warning: vision_config.window_size is 16 px but llama.cpp's Qwen2.5-VL encoder always uses 112 px windows"),
                    "\(result.stderr)")
        } else {
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
    }

    @Test("the f32 pair reads back through eah's llama.cpp reader with transformers' logits and tokens", arguments: ["qwen2vl", "qwen25vl"])
    func readsBack(_ model: String) throws {
        let directory = TemporaryDirectory()
        let result = try Self.convert(model, dtype: "f32", into: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let inputs = "../qwen2vl/\(model)/expected.safetensors"
        // Qwen2.5-VL as llama.cpp runs its mmproj: 112-pixel windows (transformers with that window).
        let outputs = model == "qwen25vl" ? "../qwen2vl/qwen25vl/gguf/expected-window112.safetensors" : inputs
        for k in 0..<4 {
            let generated = try #require(LlavaFixtures.integers(outputs, "generated_\(k)"))
            let run = try Self.run(text: directory.file("tiny.gguf"), mmproj: directory.file("mmproj-tiny.gguf"), inputs: inputs, image: k, count: generated.count)
            #expect(run.tokens == generated, "\(model) image \(k)")
            let worst = Self.worst(run.logits, try #require(LlavaFixtures.floats(outputs, "logits_\(k)")))
            #expect(worst <= 1e-4, "\(model) image \(k): max |Δ|/(1+|x|) \(worst)")
        }
    }

    /// Runs the GGUF pair on image `k` of `inputs` (transformers' pixel values and ids); returns
    /// the logits and greedy tokens of `count` new tokens.
    static func run(text: String, mmproj: String, inputs: String, image k: Int, count: Int) throws -> (logits: [Float], tokens: [Int]) {
        let model = Qwen2VLModel(weights: try Qwen2VLLoader.load(gguf: text, mmproj: mmproj))
        let pixels = try #require(LlavaFixtures.floats(inputs, "pixel_values_\(k)"))
        let grid = try #require(LlavaFixtures.integers(inputs, "grid_\(k)"))
        let ids = try #require(LlavaFixtures.integers(inputs, "template_ids_\(k)"))
        let prompt = try Qwen2VLPrompt.make(ids: ids, grids: [PatchGrid(t: grid[0], h: grid[1], w: grid[2])], config: model.config)
        let run = try model.generate(prompt: prompt, pixelValues: [pixels], maxTokens: count, collectLogits: true)
        return (try #require(run.logits), run.tokens)
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    @Test("a baked --to gguf bundle holds EAH in llama.cpp's layout (the reference's static logits, no hook); unpatch gives the converter's own text model back")
    func bakedBundle() throws {
        let base = Fixtures.path("qwen2vl/qwen2vl/")
        let eah = try Qwen2VLCommandTests.json(base + "eah.json")
        let heads = Qwen2VLCommandTests.ints(eah["static_heads"])
        let directory = TemporaryDirectory()
        let bundle = directory.file("baked")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.folder("qwen2vl"), "--to", "gguf", "--tokenizer-pre", "qwen2", "--bake", "-o", bundle]
                                                           + heads.enumerated().flatMap { ["--head", "\($0.offset):\($0.element)"] })
        #expect(patch.status == 0, "\(patch.stderr)")
        guard case .array(let cases)? = eah["cases"] else { Issue.record("eah.json has no cases"); return }
        var checked = 0
        for testCase in cases where testCase["selection"] == .string("static") {
            guard case .string(let name)? = testCase["name"], case .integer(let k)? = testCase["image"] else { continue }
            let reference = "../qwen2vl/qwen2vl/eah.safetensors"
            let tokens = try #require(LlavaFixtures.integers(reference, "generated_\(name)"))
            let run = try Self.run(text: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf", inputs: "../qwen2vl/qwen2vl/expected.safetensors",
                                   image: k, count: tokens.count)
            #expect(run.tokens == tokens, "\(name)")
            #expect(Self.worst(run.logits, try #require(LlavaFixtures.floats(reference, "logits_\(name)"))) <= 1e-4, "\(name)")
            checked += 1
        }
        #expect(checked > 0, "eah.json has no static case")
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/model.gguf", andPath: base + "gguf/text-f32.gguf"),
                "unpatch does not give back the converter's text-f32.gguf")
        #expect(!FileManager.default.contentsEqual(atPath: bundle + "/model.gguf", andPath: base + "gguf/text-f32.gguf"), "baking changed nothing")
    }

    @Test("a tokenizer llama.cpp's hash does not know is refused, giving the hash and the way out")
    func unknownPreTokenizer() throws {
        let directory = TemporaryDirectory()
        let result = try Self.convert("qwen2vl", dtype: "f32", into: directory, extra: [])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot be written in llama.cpp's layout: llama.cpp does not know this tokenizer's pre-tokenizer: the hash of its ids for llama.cpp's check text is b20a3f64f2f20058123810cf51624533e839273cf28061e703aad2e09e297b05"),
                "\(result.stderr)")
        #expect(result.stderr.contains("--tokenizer-pre"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("tiny.gguf")) && !FileManager.default.fileExists(atPath: directory.file("mmproj-tiny.gguf")))
    }

    @Test("what llama.cpp's layout cannot hold is refused, naming the part")
    func refusals() throws {
        let directory = TemporaryDirectory()
        let q4 = try Self.convert("qwen2vl", dtype: "q4_0", into: directory)
        #expect(q4.status == 1)
        #expect(q4.stderr.contains("llama.cpp's converters write f32, f16, bf16 or q8_0"), "\(q4.stderr)")
        // Full-attention blocks llama.cpp's n_wa_pattern cannot express.
        let copy = directory.file("irregular")
        try FileManager.default.copyItem(atPath: Self.folder("qwen25vl"), toPath: copy)
        var config = try String(contentsOfFile: copy + "/config.json", encoding: .utf8)
        config = config.replacingOccurrences(of: "\"fullatt_block_indexes\": [\n      1\n    ]", with: "\"fullatt_block_indexes\": [0, 2]")
        try config.write(toFile: copy + "/config.json", atomically: true, encoding: .utf8)
        let irregular = try CommandRunner.run("eah-convert", ["convert", copy, "--to", "gguf", "--tokenizer-pre", "qwen2", "-o", directory.file("irregular.gguf")])
        #expect(irregular.status == 1)
        #expect(irregular.stderr.contains("vision_config.fullatt_block_indexes [0, 2] is not one full-attention block in every 1, which llama.cpp's clip.vision.n_wa_pattern cannot express"),
                "\(irregular.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.file("irregular.gguf")))
    }
}
