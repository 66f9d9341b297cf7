import EAH
import EAHCheckpoint
import EAHModel
import EAHRuntime
import EAHTestSupport
import Foundation
import Testing

/// `convert --to gguf` on LLaVA-NeXT writes what llama.cpp's own converters write for the tiny
/// llava-hf NeXT model: Tests/Fixtures/llamacpp-export/llava-next.json
/// (tools/make_llamacpp_next_fixtures.py: the language model through convert_hf_to_gguf.py, the
/// mmproj through llava_surgery_v2 and the legacy image-encoder converter with the NeXT keys).
/// LLaVA-OneVision has no llama.cpp projector and is refused.
@Suite("llama.cpp layout: LLaVA-NeXT as llama.cpp's converters write it")
struct LlamaCppNextExportTests {
    static let fixture = "llamacpp-export/llava-next.json"

    /// The tiny NeXT model folder with the SentencePiece tokenizer.model its tokenizer.json was made
    /// from beside it (as the fixture's converter run had it; the folder has only tokenizer.json), in
    /// `directory` under the model's own name (both converters record the folder's name).
    static func model(in directory: TemporaryDirectory) throws -> String {
        let source = Fixtures.path("llava-next/tiny-llava-next-hf"), folder = directory.file("tiny-llava-next-hf")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        for name in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: source + "/" + name, toPath: folder + "/" + name)
        }
        try FileManager.default.copyItem(atPath: Fixtures.path("tokenizer/tokenizer.model"), toPath: folder + "/tokenizer.model")
        return folder
    }

    /// Converts the tiny NeXT model to `NAME.gguf` + `mmproj-NAME.gguf` in `directory`.
    static func convert(_ model: String, in directory: TemporaryDirectory, dtype: String, name: String = "next") throws -> (text: String, mmproj: String) {
        let output = directory.file(name + ".gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", model, "--to", "gguf", "--dtype", dtype, "-o", output])
        try #require(result.status == 0, "\(result.stderr)")
        return (output, directory.file("mmproj-\(name).gguf"))
    }

    @Test("text model and mmproj equal llama.cpp's", arguments: [("f32", "mmproj-f32"), ("f16", "mmproj-f16"), ("q8_0", "mmproj-f16")])
    func sameAsLlamaCpp(dtype: String, mmproj: String) throws {
        let directory = TemporaryDirectory()
        let (text, projector) = try Self.convert(try Self.model(in: directory), in: directory, dtype: dtype)
        try LlamaCppExportTests.compare(text, with: "text-\(dtype)", fixture: Self.fixture)
        try LlamaCppExportTests.compare(projector, with: mmproj, fixture: Self.fixture)
    }

    @Test("the exported pair reads back as LLaVA-NeXT in llama.cpp's image layout and answers as transformers does on it")
    func readsBack() throws {
        let directory = TemporaryDirectory()
        let (text, mmproj) = try Self.convert(try Self.model(in: directory), in: directory, dtype: "f32")
        let image = "wide"
        guard case .string(let promptText)? = try LlavaNextGGUFTests.facts(image)["prompt"] else { Issue.record("prompt"); return }
        let pipeline = try ModelPipeline(model: text, mmproj: mmproj)
        #expect(pipeline.model.family == "llava-next")
        let ids = pipeline.processor.encode(promptText, addBOS: true)
        #expect(ids == (try #require(LlavaNextGGUFTests.integers(image, "input_ids"))))
        let prepared = try pipeline.image(path: Fixtures.path("llava-next/\(image).png"))
        let input = try pipeline.prepare(ids: ids, images: [prepared], path: "prompt")
        let result = try pipeline.model.generate(input, images: [prepared], maxTokens: 5, collectLogits: true)
        // The reference: transformers on llama.cpp's layout, with the mmproj's F16 matrices.
        #expect(LlavaNextGGUFTests.worst(try #require(result.logits), try #require(LlavaNextGGUFTests.floats(image, "logits"))) <= 1e-4)
        #expect(result.tokens == (try #require(LlavaNextGGUFTests.integers(image, "generated"))))
    }

    @Test("a baked bundle loads in llama-mtmd-cli and answers; unpatch restores the plain export bit for bit",
          .enabled(if: llamaCppBin != nil, "SKIPPED: no llama.cpp build (run `make interop`, or set LLAMA_CPP_BIN)"))
    func bakedBundleInLlamaCpp() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle"), restored = directory.file("restored")
        let model = try Self.model(in: directory)
        let patch = try CommandRunner.run("eah-convert", ["patch", model, "--head", "1:2", "--bake", "--to", "gguf", "--dtype", "f32", "-o", bundle])
        try #require(patch.status == 0, "\(patch.stderr)")
        let (text, mmproj) = try Self.convert(model, in: directory, dtype: "f32", name: "plain")
        #expect(!FileManager.default.contentsEqual(atPath: bundle + "/model.gguf", andPath: text), "baking changed nothing")
        #expect(FileManager.default.contentsEqual(atPath: bundle + "/mmproj.gguf", andPath: mmproj))

        let result = try LlamaCppInteropTests.mtmd([
            "-m", bundle + "/model.gguf", "--mmproj", bundle + "/mmproj.gguf", "--image", Fixtures.path("llava-next/wide.png"),
            "-p", "What is in the picture?", "--temp", "0", "-n", "5", "--chat-template", "vicuna", "-t", "2", "--no-warmup",
        ]) { LlamaCppInteropTests.encodedImage($0) && !$0.stdout.allSatisfy(\.isWhitespace) }
        #expect(result.status == 0, "llama-mtmd-cli failed: \(result.stderr.suffix(2000))")
        #expect(LlamaCppInteropTests.encodedImage(result), "\(result.stderr.suffix(2000))")
        // llama.cpp read the pinpoints: the wide image is two slices and the overview (one chunk each).
        #expect(result.stderr.contains("total = 5)"), "\(result.stderr.suffix(2000))")
        #expect(result.stdout.contains { !$0.isWhitespace }, "no answer")

        let unpatch = try CommandRunner.run("eah-convert", ["unpatch", bundle, "-o", restored])
        #expect(unpatch.status == 0, "\(unpatch.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/model.gguf", andPath: text), "unpatch does not restore the plain model.gguf")
        #expect(FileManager.default.contentsEqual(atPath: restored + "/mmproj.gguf", andPath: mmproj))
    }

    @Test("LLaVA-OneVision is refused: llama.cpp has no OneVision projector")
    func onevisionRefused() throws {
        let directory = TemporaryDirectory()
        let source = Fixtures.path("llava-onevision/tiny-llava-onevision-hf"), output = directory.file("ov.gguf")
        let result = try CommandRunner.run("eah-convert", ["convert", source, "--to", "gguf", "-o", output])
        #expect(result.status == 1)
        #expect(result.stderr == "eah-convert: \(source): cannot be written in llama.cpp's layout: llama.cpp has no LLaVA-OneVision projector "
            + "(neither convert_hf_to_gguf.py nor tools/mtmd of llama-cpp-python 0.3.36 converts one); "
            + "pass --keep-names for a GGUF that keeps the source's tensor names (eah-run reads it, llama.cpp does not)\n")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(!FileManager.default.fileExists(atPath: directory.file("mmproj-ov.gguf")))
    }
}
