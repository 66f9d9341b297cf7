import EAHCheckpoint
import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// Stock llama.cpp (built by tools/llama-cpp.sh from the llama-cpp-python 0.3.36 sdist) loads and
/// runs what `eah-convert` writes in its layout. `make interop` builds llama.cpp and runs these;
/// the normal suite runs them when the build is present (`LLAMA_CPP_BIN`, else
/// ~/.cache/eah/llama-cpp-python-0.3.36/build/bin) and reports them skipped otherwise.
let llamaCppBin: String? = {
    let environment = ProcessInfo.processInfo.environment
    let folder = environment["LLAMA_CPP_BIN"]
        ?? (environment["EAH_LLAMA_CPP_CACHE"] ?? NSHomeDirectory() + "/.cache/eah") + "/llama-cpp-python-0.3.36/build/bin"
    let tools = ["llama-mtmd-cli", "llama-simple", "llama-tokenize"]
    return tools.allSatisfy { FileManager.default.isExecutableFile(atPath: folder + "/" + $0) } ? folder : nil
}()

@Suite("llama.cpp runs eah-convert's GGUF (make interop)",
       .enabled(if: llamaCppBin != nil, "SKIPPED: no llama.cpp build (run `make interop`, or set LLAMA_CPP_BIN to a folder with llama-mtmd-cli, llama-simple, llama-tokenize)"))
struct LlamaCppInteropTests {
    static let model = Fixtures.root + "/../../models/demo-llava"
    static let image = Fixtures.root + "/../../data/demo/eval/eval_0001.png"
    static let question = "What is in the picture?"

    static func tool(_ name: String) throws -> String { try #require(llamaCppBin) + "/" + name }

    /// Runs llama-mtmd-cli, again (up to five runs) while a run exits 0 with a log that stops
    /// before it is `complete`, or hangs: llama.cpp 0.3.36's asynchronous logger now and then loses
    /// what is still queued at exit (here about one run in five under load: the log ends at
    /// "loading model" and the answer, printed through the same logger, is gone), and once a run
    /// hung in a futex wait at exit. Neither says anything about the files. A run is killed after
    /// 120 s (the tiny models answer in well under a second); a run that fails, or five cut or
    /// hung runs, are returned as they are for the caller to judge.
    static func mtmd(_ arguments: [String], complete: (CommandRunner.Result) -> Bool) throws -> CommandRunner.Result {
        func once() throws -> CommandRunner.Result {
            try CommandRunner.run(executable: try tool("llama-mtmd-cli"), arguments, timeout: 120)
        }
        var result = try once()
        for _ in 1..<5 where result.timedOut || (result.status == 0 && !complete(result)) {
            result = try once()
        }
        #expect(!result.timedOut, "llama-mtmd-cli hung five times (killed after 120 s each)")
        return result
    }

    /// Whether llama-mtmd-cli's log says the image was encoded.
    static func encodedImage(_ result: CommandRunner.Result) -> Bool {
        result.stderr.contains("mtmd batch encoding done") || result.stderr.contains("image slice encoded")
    }

    /// llama-mtmd-cli answers about the image greedily; returns its answer.
    static func mtmdAnswer(model: String, mmproj: String) throws -> String {
        let result = try mtmd([
            "-m", model, "--mmproj", mmproj, "--image", image, "-p", question, "--temp", "0", "-n", "16",
            "--chat-template", "vicuna", "-t", "2", "--no-warmup",
        ]) { encodedImage($0) && !$0.stdout.allSatisfy(\.isWhitespace) }
        #expect(result.status == 0, "llama-mtmd-cli failed: \(result.stderr.suffix(2000))")
        #expect(encodedImage(result), "llama-mtmd-cli did not encode the image: \(result.stderr.suffix(2000))")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("llama-mtmd-cli loads a converted model and answers about an image")
    func convertedModelAnswers() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("demo.gguf")
        let convert = try CommandRunner.run("eah-convert", ["convert", Self.model, "--dtype", "f16", "-o", output])
        #expect(convert.status == 0, "\(convert.stderr)")
        let answer = try Self.mtmdAnswer(model: output, mmproj: directory.file("mmproj-demo.gguf"))
        #expect(!answer.isEmpty, "no answer")
    }

    @Test("llama-mtmd-cli loads a baked bundle; unpatch restores the unbaked GGUF bit for bit; eah-run runs it")
    func bakedBundleAnswers() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.model, "--head", "1:1", "--bake", "--to", "gguf", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        let baked = try Self.mtmdAnswer(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")
        #expect(!baked.isEmpty, "no answer from the baked bundle")

        let plain = directory.file("plain.gguf")
        #expect(try CommandRunner.run("eah-convert", ["convert", Self.model, "-o", plain]).status == 0)
        let restored = directory.file("restored")
        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/model.gguf", andPath: plain), "unpatch does not restore the unbaked model.gguf")
        #expect(FileManager.default.contentsEqual(atPath: bundle + "/model.gguf", andPath: plain) == false, "baking changed nothing")

        let run = try CommandRunner.run("eah-run", [bundle, "--image", Self.image, "--prompt", Self.question, "--max-tokens", "8"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("the main job with --bake --to gguf writes a bundle llama-mtmd-cli runs")
    func mainJobBundleAnswers() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let data = Fixtures.root + "/../../data/demo/calibration.jsonl"
        let job = try CommandRunner.run("eah-convert", [Self.model, "--data", data, "--layers", "0-1", "--bake", "--to", "gguf", "-o", bundle])
        #expect(job.status == 0, "\(job.stderr)")
        let inspect = try CommandRunner.run("eah-convert", ["inspect", bundle])
        #expect(inspect.stdout.contains("llama.cpp layout: text model, architecture llama"), "\(inspect.stdout.prefix(800))")
        #expect(!(try Self.mtmdAnswer(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")).isEmpty)
    }

    @Test("llama-mtmd-cli loads InternVL's export (qwen2 + internvl mmproj) and its baked bundle and answers")
    func internVLAnswers() throws {
        let directory = TemporaryDirectory(), source = Fixtures.path("internvl/internvl/original")
        let output = directory.file("internvl.gguf")
        let convert = try CommandRunner.run("eah-convert", ["convert", source, "--to", "gguf", "--tokenizer-pre", "qwen2", "--dtype", "f16", "-o", output])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(!(try Self.mtmdAnswer(model: output, mmproj: directory.file("mmproj-internvl.gguf"))).isEmpty, "no answer")
        let bundle = directory.file("baked")
        let patch = try CommandRunner.run("eah-convert", ["patch", source, "--head", "0:1", "--head", "1:2", "--bake", "--to", "gguf",
                                                         "--tokenizer-pre", "qwen2", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(!(try Self.mtmdAnswer(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")).isEmpty, "no answer from the baked bundle")
    }

    @Test("greedy text: llama-simple and eah's runtime generate the same tokens on the same GGUF")
    func greedyTextMatches() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("demo.gguf")
        #expect(try CommandRunner.run("eah-convert", ["convert", Self.model, "--dtype", "f32", "-o", output]).status == 0)
        let prompt = "USER: What is in the picture? ASSISTANT: The picture shows"
        let tokenize = try CommandRunner.run(executable: try Self.tool("llama-tokenize"), ["-m", output, "-p", prompt, "--ids", "--log-disable"])
        #expect(tokenize.status == 0, "\(tokenize.stderr)")
        let promptIDs = tokenize.stdout.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(promptIDs.first == 1 && promptIDs.count > 5, "llama-tokenize: \(tokenize.stdout)")
        // llama-simple prints each token's piece, the prompt's first, and stops before an end-of-generation token.
        let simple = try CommandRunner.run(executable: try Self.tool("llama-simple"), ["-m", output, "-n", "16", prompt])
        #expect(simple.status == 0, "\(simple.stderr)")

        // eah-run's engine on the same files: eah-run's --input-ids needs an image, so the model is
        // driven here directly (the model interface eah-run uses), text only, greedy.
        let model = try ModelFamilies.load(ModelRequest(model: output, mmproj: directory.file("mmproj-demo.gguf")))
        let input = try model.prepare(ids: promptIDs, images: [])
        let result = try model.generate(input, images: [], maxTokens: 16, stopTokens: Set(model.eosTokenIDs))
        let generated = result.tokens.prefix { !model.eosTokenIDs.contains($0) }
        #expect(!generated.isEmpty)
        // The same tokens printed as llama.cpp prints them (SentencePiece pieces, ▁ as a space).
        let reader = try GGUFReader(path: output)
        guard case .array(_, let pieces)? = reader.metadataValue("tokenizer.ggml.tokens") else {
            Issue.record("no tokenizer.ggml.tokens")
            return
        }
        // A byte piece (<0xE2>) is that byte; others are their text with ▁ as a space.
        func bytes(_ id: Int) -> [UInt8] {
            let text = pieces[id].string ?? ""
            if text.count == 6, text.hasPrefix("<0x"), text.hasSuffix(">"), let byte = UInt8(text.dropFirst(3).prefix(2), radix: 16) { return [byte] }
            return Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
        }
        func text(_ ids: some Sequence<Int>) -> String { String(decoding: ids.flatMap(bytes), as: UTF8.self) }
        let llamaText = simple.stdout.hasSuffix("\n") ? String(simple.stdout.dropLast()) : simple.stdout
        let promptText = text(promptIDs)
        #expect(llamaText.hasPrefix(promptText), "llama-simple printed \(llamaText.debugDescription)")
        let llamaContinuation = String(llamaText.dropFirst(promptText.count))
        let eahContinuation = text(generated)
        // llama-simple stops one token short of -n; every token it printed must be eah-run's.
        let shortest = text(generated.prefix(min(generated.count, 15)))
        #expect(eahContinuation.hasPrefix(llamaContinuation) && llamaContinuation.count >= shortest.count,
                "llama-simple: \(llamaContinuation.debugDescription) eah: \(eahContinuation.debugDescription) (\(Array(generated)))")
    }
}


/// Gemma 3 (tools/make_gemma3_gguf_fixtures.py's tiny transformers model) in stock llama.cpp:
/// llama-mtmd-cli loads what `convert --to gguf` and `patch --bake --to gguf` write, encodes the
/// image and generates with the model's own chat template. (Greedy tokens are not compared with
/// llama-simple's printout here: the tiny vocabulary is padded with unused [PADn] pieces, which
/// llama.cpp prints as nothing, and this random model picks them.)
@Suite("llama.cpp runs eah-convert's Gemma 3 GGUF (make interop)",
       .enabled(if: llamaCppBin != nil, "SKIPPED: no llama.cpp build (run `make interop`, or set LLAMA_CPP_BIN)"))
struct Gemma3LlamaCppInteropTests {
    static let model = Fixtures.path("gemma3-gguf/hf")
    static let image = Fixtures.path("images/valid/rgb_37x53.png")

    static func mtmdAnswer(model: String, mmproj: String) throws -> String {
        let result = try LlamaCppInteropTests.mtmd([
            "-m", model, "--mmproj", mmproj, "--image", image, "-p", "What is in the picture?", "--temp", "0", "-n", "8", "-t", "2", "--no-warmup",
        ]) { LlamaCppInteropTests.encodedImage($0) && !$0.stdout.isEmpty }
        #expect(result.status == 0, "llama-mtmd-cli failed: \(result.stderr.suffix(2000))")
        #expect(LlamaCppInteropTests.encodedImage(result), "llama-mtmd-cli did not encode the image: \(result.stderr.suffix(2000))")
        // The tiny random model may answer with newlines only: the generated text is kept as is.
        return result.stdout
    }

    @Test("llama-mtmd-cli loads a converted Gemma 3 (f16) and a baked bundle and answers; llama-simple runs the text model")
    func convertedAndBakedAnswer() throws {
        let directory = TemporaryDirectory()
        let output = directory.file("gemma.gguf"), bundle = directory.file("bundle")
        let convert = try CommandRunner.run("eah-convert", ["convert", Self.model, "--to", "gguf", "--dtype", "f16", "-o", output])
        #expect(convert.status == 0, "\(convert.stderr)")
        #expect(!(try Self.mtmdAnswer(model: output, mmproj: directory.file("mmproj-gemma.gguf"))).isEmpty, "no answer")
        let patch = try CommandRunner.run("eah-convert", ["patch", Self.model, "--head", "0:1", "--head", "1:2", "--bake", "--to", "gguf", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        #expect(!(try Self.mtmdAnswer(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")).isEmpty, "no answer from the baked bundle")
        let simple = try CommandRunner.run(executable: try #require(llamaCppBin) + "/llama-simple", ["-m", output, "-n", "4", "Tell me a story"])
        #expect(simple.status == 0, "\(simple.stderr.suffix(2000))")
    }
}
