import EAHTestSupport
import Foundation
import Testing

/// ggml's own GGUF reader (llama.cpp's `llama-gguf`) accepts a baked GGUF bundle: the strict
/// reference checks (offsets, alignment, types) and loading every tensor's data. Runs when a
/// llama.cpp build is present: `LLAMA_GGUF=/path/to/llama-gguf`, or `llama-gguf` on PATH.
private let llamaGGUF: String? = {
    if let path = ProcessInfo.processInfo.environment["LLAMA_GGUF"], FileManager.default.isExecutableFile(atPath: path) { return path }
    for folder in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let candidate = "\(folder)/llama-gguf"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}()

@Suite("llama.cpp reads baked GGUF bundles", .enabled(if: llamaGGUF != nil, "no llama.cpp build: set LLAMA_GGUF or put llama-gguf on PATH"))
struct LlamaCppCompatibilityTests {
    @Test("every GGUF file of a baked bundle loads in ggml's reader")
    func bakedBundleLoads() throws {
        let directory = TemporaryDirectory()
        let bundle = directory.file("bundle")
        let patch = try CommandRunner.run("eah-convert", [
            "patch", LlavaFixtures.path("m1-gqa-bias/gguf/text-q8_0.gguf"), "--mmproj", LlavaFixtures.path("m1-gqa-bias/gguf/mmproj-f16.gguf"),
            "--head", "1:1", "--bake", "-o", bundle,
        ])
        #expect(patch.status == 0, "\(patch.stderr)")
        for name in ["model.gguf", "mmproj.gguf", "eah_original_rows.gguf"] {
            let result = try CommandRunner.run(executable: try #require(llamaGGUF), [bundle + "/" + name, "r", "n"])
            #expect(result.status == 0, "\(name): \(result.stderr)")
            #expect(result.stdout.contains("gguf_ex_read_1: ctx_data size"), "\(name)")
        }
    }
}
