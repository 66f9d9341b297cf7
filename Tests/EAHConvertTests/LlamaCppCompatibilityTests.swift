import EAHTestSupport
import Foundation
import Testing

/// ggml's own GGUF reader (llama.cpp's `llama-gguf`) accepts a baked GGUF bundle: the strict
/// reference checks (offsets, alignment, types) and loading every tensor's data. Runs when a
/// llama.cpp build is present: `LLAMA_GGUF=/path/to/llama-gguf`, `LLAMA_CPP_BIN`, the build
/// tools/llama-cpp.sh caches, or `llama-gguf` on PATH.
private let llamaGGUF: String? = {
    if let path = ProcessInfo.processInfo.environment["LLAMA_GGUF"], FileManager.default.isExecutableFile(atPath: path) { return path }
    let environment = ProcessInfo.processInfo.environment
    // LLAMA_CPP_BIN, else tools/llama-cpp.sh's cached build, else PATH.
    let cache = (environment["EAH_LLAMA_CPP_CACHE"] ?? NSHomeDirectory() + "/.cache/eah") + "/llama-cpp-python-0.3.36/build/bin"
    let folders = [environment["LLAMA_CPP_BIN"], cache].compactMap { $0 } + (environment["PATH"] ?? "").split(separator: ":").map(String.init)
    return folders.map { $0 + "/llama-gguf" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}()

@Suite("llama.cpp reads baked GGUF bundles", .enabled(if: llamaGGUF != nil, "SKIPPED: no llama.cpp build (run `make interop`, set LLAMA_GGUF, or put llama-gguf on PATH)"))
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
