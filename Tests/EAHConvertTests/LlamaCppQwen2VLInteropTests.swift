import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHTestSupport
import Foundation
import Testing

/// Stock llama.cpp (tools/llama-cpp.sh's build of the llama-cpp-python 0.3.36 sdist) runs the
/// Qwen2-VL and Qwen2.5-VL files `eah-convert --to gguf` writes: llama-mtmd-cli loads a converted
/// pair and a baked bundle, encodes an image and generates; llama-tokenize splits text as eah's
/// tokenizer does on the exported vocabulary; llama-simple's greedy tokens are eah's. Run by
/// `make interop`, and by the normal suite when the build is present (see LlamaCppInteropTests).
@Suite("llama.cpp runs eah-convert's Qwen2-VL GGUF (make interop)",
       .enabled(if: llamaCppBin != nil, "SKIPPED: no llama.cpp build (run `make interop`, or set LLAMA_CPP_BIN to a folder with llama-mtmd-cli, llama-simple, llama-tokenize)"))
struct LlamaCppQwen2VLInteropTests {
    static let image = Fixtures.path("images/valid/rgb_37x53.png")

    /// The tiny model converted into `directory` as `tiny.gguf` + `mmproj-tiny.gguf`.
    static func convert(_ model: String, into directory: TemporaryDirectory) throws -> (text: String, mmproj: String) {
        let result = try CommandRunner.run("eah-convert", ["convert", LlamaCppQwen2VLExportTests.folder(model), "--to", "gguf", "--dtype", "f32",
                                                          "--tokenizer-pre", "qwen2", "-o", directory.file("tiny.gguf")])
        #expect(result.status == 0, "\(result.stderr)")
        return (directory.file("tiny.gguf"), directory.file("mmproj-tiny.gguf"))
    }

    /// llama-mtmd-cli loads the pair, encodes the image and generates 8 tokens greedily
    /// (end-of-generation ignored). The context is widened past the tiny model's 512 positions:
    /// llama.cpp gives Qwen-VL images at least 1024 tokens by default. The tiny random model's
    /// answer may be control tokens only (printed as nothing), so its text is not required.
    static func mtmdRuns(model: String, mmproj: String) throws {
        let result = try LlamaCppInteropTests.mtmd([
            "-m", model, "--mmproj", mmproj, "--image", image, "-p", "What is in the picture?", "--temp", "0", "-n", "8",
            "-c", "4096", "--ignore-eos", "-t", "2", "--no-warmup",
        ]) { LlamaCppInteropTests.encodedImage($0) && $0.stderr.contains("<|im_start|>assistant") }
        #expect(result.status == 0, "llama-mtmd-cli failed: \(result.stderr.suffix(2000))")
        #expect(LlamaCppInteropTests.encodedImage(result), "llama-mtmd-cli did not encode the image: \(result.stderr.suffix(3000))")
        // The chat template it applies is the one the export wrote (ChatML).
        #expect(result.stderr.contains("<|im_start|>assistant"), "\(result.stderr.suffix(3000))")
    }

    @Test("llama-mtmd-cli loads a converted model (qwen2vl_merger, qwen2.5vl_merger), encodes an image and generates", arguments: ["qwen2vl", "qwen25vl"])
    func convertedModelAnswers(_ model: String) throws {
        let directory = TemporaryDirectory()
        let (text, mmproj) = try Self.convert(model, into: directory)
        try Self.mtmdRuns(model: text, mmproj: mmproj)
    }

    @Test("llama-mtmd-cli loads a baked Qwen2-VL bundle (model.gguf + mmproj.gguf), encodes an image and generates")
    func bakedBundleAnswers() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", ["patch", LlamaCppQwen2VLExportTests.folder("qwen2vl"), "--head", "0:1", "--head", "1:2", "--bake",
                                                         "--to", "gguf", "--tokenizer-pre", "qwen2", "-o", bundle])
        #expect(patch.status == 0, "\(patch.stderr)")
        try Self.mtmdRuns(model: bundle + "/model.gguf", mmproj: bundle + "/mmproj.gguf")
    }

    @Test("llama-tokenize splits text as eah's tokenizer does on the exported gpt2 vocabulary")
    func tokenizerAgrees() throws {
        let directory = TemporaryDirectory()
        let (text, _) = try Self.convert("qwen2vl", into: directory)
        let tokenizer = try GGUFTokenizerMetadata.load(path: text)
        for sample in ["Hello world, this is a test.", "  spaces\tand\nlines  ", "numbers 1234567 and 3.14", "café naïve 日本語 🚀", "What's in the picture?"] {
            let result = try CommandRunner.run(executable: try LlamaCppInteropTests.tool("llama-tokenize"), ["-m", text, "-p", sample, "--ids", "--log-disable"])
            #expect(result.status == 0, "\(result.stderr)")
            let ids = result.stdout.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            #expect(tokenizer.encode(sample, addBOS: true) == ids, "\(sample.debugDescription)")
        }
    }

    @Test("greedy text: llama-simple and eah's runtime generate the same tokens on the same Qwen2-VL GGUF")
    func greedyTextMatches() throws {
        let directory = TemporaryDirectory()
        let (text, mmproj) = try Self.convert("qwen2vl", into: directory)
        let prompt = "Hello world, this is"
        let tokenize = try CommandRunner.run(executable: try LlamaCppInteropTests.tool("llama-tokenize"), ["-m", text, "-p", prompt, "--ids", "--log-disable"])
        let promptIDs = tokenize.stdout.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        #expect(promptIDs.count > 3, "llama-tokenize: \(tokenize.stdout)")
        let simple = try CommandRunner.run(executable: try LlamaCppInteropTests.tool("llama-simple"), ["-m", text, "-n", "8", prompt])
        #expect(simple.status == 0, "\(simple.stderr)")

        let model = try ModelFamilies.load(ModelRequest(model: text, mmproj: mmproj))
        let input = try model.prepare(ids: promptIDs, images: [])
        let generated = try model.generate(input, images: [], maxTokens: 8, stopTokens: []).tokens
        // llama-simple prints every token's bytes (byte-level pieces decoded), the prompt's first,
        // and stops one short of -n; its text must be eah's tokens' bytes decoded the same way.
        let reader = try GGUFReader(path: text)
        guard case .array(_, let pieces)? = reader.metadataValue("tokenizer.ggml.tokens") else {
            Issue.record("no tokenizer.ggml.tokens")
            return
        }
        func bytes(_ ids: some Sequence<Int>) -> [UInt8] { ids.flatMap { Self.byteLevelBytes(pieces[$0].string ?? "") } }
        let printed = simple.stdout.hasSuffix("\n") ? String(simple.stdout.dropLast()) : simple.stdout
        let matched = (0...generated.count).last { String(decoding: bytes(promptIDs) + bytes(generated.prefix($0)), as: UTF8.self) == printed }
        #expect((matched ?? 0) >= generated.count - 1,
                "llama-simple printed \(printed.debugDescription); eah generated \(generated) = \(String(decoding: bytes(generated), as: UTF8.self).debugDescription)")
    }

    /// The bytes of a GPT-2 byte-level piece (`Ġ` is a space; printable bytes stand for themselves,
    /// the others for U+0100 + their rank).
    static func byteLevelBytes(_ piece: String) -> [UInt8] {
        var table: [UInt32: UInt8] = [:]
        var next: UInt32 = 256
        for byte in 0...255 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable { table[UInt32(byte)] = UInt8(byte) } else { table[next] = UInt8(byte); next += 1 }
        }
        return piece.unicodeScalars.compactMap { table[$0.value] }
    }
}
