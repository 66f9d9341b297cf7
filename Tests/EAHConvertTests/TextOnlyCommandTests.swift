import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// Text-only models through eah-run against transformers 5.24 (tools/make_textonly_fixtures.py):
/// LlamaForCausalLM, Qwen2ForCausalLM and MistralForCausalLM (sliding window) folders from --prompt (the chat template rendered with
/// no image) and --input-ids, and LLaVA m1's llama.cpp text GGUF without its mmproj, give the
/// reference's greedy tokens and eager logits; EAH and images are refused; --json reports timings.
@Suite("text-only models in eah-run")
struct TextOnlyCommandTests {
    static let folders = ["tiny-llama", "tiny-qwen2", "tiny-mistral"]
    static let gguf = Fixtures.path("llava/m1-gqa-bias/gguf/text-f32.gguf")

    static func expected() throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path("textonly/expected.json"))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    static func ints(_ value: JSONValue?) -> [Int] {
        guard case .array(let items)? = value else { return [] }
        return items.compactMap { if case .integer(let v) = $0 { v } else { nil } }
    }

    static func floats(_ path: String) throws -> [Float] {
        let reader = try SafetensorsReader(path: path)
        let tensor = try #require(reader.tensor(named: "logits"))
        return try reader.bytes(of: tensor).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// eah-run --json with --logits-out: the document and the logits rows from the last prompt position on.
    static func run(_ arguments: [String], newTokens: Int) throws -> (document: JSONValue, logits: [Float]) {
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", arguments + ["--max-tokens", "4", "--logits-out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        let logits = try floats(out)
        let vocab = 1503
        return (document, Array(logits[(logits.count - newTokens * vocab)...]))
    }

    static func worst(_ a: [Float], _ b: [Float]) -> Float {
        a.count == b.count ? zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0 : .infinity
    }

    /// Every timing present and positive.
    static func checkTimings(_ document: JSONValue) {
        for key in ["load_seconds", "prompt_tokens_per_second", "decode_tokens_per_second", "peak_rss_mib"] {
            guard case .number(let value)? = document["timings"]?[key] else { Issue.record("timings.\(key) missing: \(document.serialized)"); continue }
            #expect(value > 0, "timings.\(key)")
        }
    }

    @Test("a causal-LM folder answers a --prompt and --input-ids as transformers does", arguments: folders)
    func folderMatchesTransformers(_ name: String) throws {
        let entry = try #require(try Self.expected()[name])
        guard case .string(let question)? = entry["question"] else { Issue.record("expected.json"); return }
        let tokens = Self.ints(entry["tokens"]), ids = Self.ints(entry["input_ids"])
        let reference = try Self.floats(Fixtures.path("textonly/\(name)-logits.safetensors"))
        let folder = Fixtures.path("textonly/\(name)")
        let prompted = try Self.run([folder, "--prompt", question], newTokens: tokens.count)
        #expect(Self.ints(prompted.document["tokens"]) == tokens)
        #expect(prompted.document["prompt_tokens"] == .integer(ids.count))
        #expect(Self.worst(prompted.logits, reference) <= 1e-4)
        Self.checkTimings(prompted.document)
        let raw = try Self.run([folder, "--input-ids", ids.map(String.init).joined(separator: ",")], newTokens: tokens.count)
        #expect(Self.ints(raw.document["tokens"]) == tokens)
        #expect(Self.worst(raw.logits, reference) <= 1e-4)
        Self.checkTimings(raw.document)
    }

    @Test("a llama.cpp text GGUF without --mmproj runs text-only as transformers runs its source")
    func ggufMatchesTransformers() throws {
        let entry = try #require(try Self.expected()["m1-gguf"])
        let tokens = Self.ints(entry["tokens"]), ids = Self.ints(entry["input_ids"])
        let reference = try Self.floats(Fixtures.path("textonly/m1-gguf-logits.safetensors"))
        let directory = TemporaryDirectory()
        let out = directory.file("logits.safetensors")
        let result = try CommandRunner.run("eah-run", [Self.gguf, "--input-ids", ids.map(String.init).joined(separator: ","),
                                                      "--max-tokens", "4", "--logits-out", out, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(Self.ints(document["tokens"]) == tokens)
        let logits = try Self.floats(out)
        let vocab = reference.count / tokens.count
        #expect(Self.worst(Array(logits[(logits.count - reference.count)...]), reference) <= 1e-4, "vocab \(vocab)")
        Self.checkTimings(document)
    }

    /// llama.cpp's convert_hf_to_gguf writes a MistralForCausalLM as architecture `llama` with no
    /// sliding-window key (tools/make_textonly_gguf_fixtures.py): it runs with full attention,
    /// as transformers runs the same weights with `sliding_window=None` (the prompt is longer than
    /// the checkpoint's window of 8, so the window matters). The same file recording
    /// `llama.attention.sliding_window` = 8 runs as transformers runs the checkpoint itself.
    @Test("a Mistral GGUF from convert_hf_to_gguf runs as transformers, with its window when the file records one")
    func mistralGGUF() throws {
        let file = try MappedFile(path: Fixtures.path("textonly/mistral-gguf/expected.json"))
        let entry = try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
        let ids = Self.ints(entry["input_ids"]).map(String.init).joined(separator: ",")
        let window = try #require(try Self.expected()["tiny-mistral"])
        #expect(Self.ints(window["input_ids"]).map(String.init).joined(separator: ",") == ids)
        let cases = [("tiny-mistral.gguf", Self.ints(entry["tokens"]), "mistral-gguf/logits-full.safetensors"),
                     ("tiny-mistral-window.gguf", Self.ints(window["tokens"]), "tiny-mistral-logits.safetensors")]
        #expect(cases[0].1 != cases[1].1, "the window changes the answer, so each run is told apart")
        for (name, tokens, logits) in cases {
            let reference = try Self.floats(Fixtures.path("textonly/\(logits)"))
            let run = try Self.run([Fixtures.path("textonly/mistral-gguf/\(name)"), "--input-ids", ids], newTokens: tokens.count)
            #expect(Self.ints(run.document["tokens"]) == tokens, "\(name)")
            #expect(Self.worst(run.logits, reference) <= 1e-4, "\(name)")
        }
    }

    @Test("EAH and images on a text-only run are refused in one line")
    func refusals() throws {
        let folder = Fixtures.path("textonly/tiny-llama")
        let eah = try CommandRunner.run("eah-run", [folder, "--prompt", "hi", "--eah-layer", "0"])
        #expect(eah.status == 2)
        #expect(eah.stderr == "eah-run: EAH needs an image: add --image (or --pixel-values), or drop --eah-layer (with a bundle, pass --no-eah) to run the text alone\n")
        let image = Fixtures.path("e2e/rgb_37x53_420.jpg")
        let pictured = try CommandRunner.run("eah-run", [folder, "--prompt", "hi", "--image", image])
        #expect(pictured.status == 2)
        #expect(pictured.stderr == "eah-run: \(image): the model has no vision tower (a text-only checkpoint, or a llama.cpp text GGUF without its --mmproj): it takes no image; drop --image/--pixel-values and <image>, or pass the mmproj\n")
        let tower = try CommandRunner.run("eah-run", [Self.gguf, "--prompt", "hi", "--eah-layer", "1"])
        #expect(tower.status == 2)
        #expect(tower.stderr.hasPrefix("eah-run: EAH needs an image"))
        // A bundle's patches need an image too; --no-eah runs its model on the text.
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", Fixtures.path("e2e/tiny-llava-hf"), "--head", "1:2", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        let patched = try CommandRunner.run("eah-run", [bundle, "--prompt", "hi", "-n", "2"])
        #expect(patched.status == 2)
        #expect(patched.stderr == eah.stderr)
        let plain = try CommandRunner.run("eah-run", [bundle, "--prompt", "hi", "-n", "2", "--no-eah"])
        #expect(plain.status == 0, "\(plain.stderr)")
        // --pixel-values alone is still an error.
        let pixels = try CommandRunner.run("eah-run", [folder, "--pixel-values", "x.safetensors"])
        #expect(pixels.status == 2)
        #expect(pixels.stderr == "eah-run: --pixel-values needs --input-ids\n")
    }

    @Test("calibrate and patch refuse a text-only model in one line, exit 1, writing nothing")
    func eahRefused() throws {
        let directory = TemporaryDirectory()
        let image = Fixtures.path("e2e/rgb_37x53_420.jpg")
        let data = directory.write("data.jsonl", Array("{\"image\": \"\(image)\", \"prompt\": \"Describe the image.\"}\n".utf8))
        let why = "is a text-only model (no vision tower): EAH needs a vision-language model, since it acts on the attention to image tokens; "
            + "pass a vision-language model (a LLaVA, Qwen2-VL, InternVL or Gemma 3 folder, or a llama.cpp GGUF with its --mmproj); "
            + "run this one without EAH: eah-run MODEL --prompt TEXT\n"
        for model in [Fixtures.path("textonly/tiny-llama"), Self.gguf] {
            let bundle = directory.file("bundle")
            let patch = try CommandRunner.run("eah-convert", ["patch", model, "--head", "0:1", "-o", bundle])
            #expect(patch.status == 1)
            #expect(patch.stderr == "eah-convert: \(model): " + why)
            #expect(!FileManager.default.fileExists(atPath: bundle))
            let report = directory.file("report.json")
            let calibrate = try CommandRunner.run("eah-convert", ["calibrate", model, "--data", data, "--layers", "0-1", "-o", report])
            #expect(calibrate.status == 1)
            #expect(calibrate.stderr == "eah-convert: \(model): " + why)
            #expect(!FileManager.default.fileExists(atPath: report))
        }
    }

    @Test("a vision model answers --prompt without --image as text, with timings")
    func visionModelTextOnly() throws {
        let result = try CommandRunner.run("eah-run", [Fixtures.path("e2e/tiny-llava-hf"), "--prompt", "hi", "--max-tokens", "3", "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard case .array(let tokens)? = document["tokens"] else { Issue.record("no tokens"); return }
        #expect(!tokens.isEmpty)
        Self.checkTimings(document)
    }
}
