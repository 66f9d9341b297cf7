import EAHCheckpoint
import EAHCore
import EAHModel

/// `eah-bench image-encode TEXT_GGUF MMPROJ_GGUF IMAGE LLAMA_BIN_DIR THREADS`: CLIP ViT-L/14-336
/// plus the LLaVA projector (one 336² image to 576 features) against llama.cpp's
/// `llama-mtmd-cli` ("mtmd batch encoding done in N ms" for the one image chunk; older builds say
/// "image slice encoded in N ms") on the same mmproj GGUF and thread count.
/// Preprocessing is outside both figures. Runs alternate and each side keeps its best.
enum ImageEncodeComparison {
    static let rounds = 2

    static func run(text: String, mmproj: String, image: String, llamaBinaries: String, threads: Int) -> JSONValue? {
        ThreadPool.shared = ThreadPool(threadCount: threads)
        let model: LlavaModel
        do {
            model = LlavaModel(weights: try LlavaLoader.load(model: text, mmproj: mmproj))
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return nil
        }
        let vision = model.config.vision
        var random = UInt64(7)
        let pixels = (0..<(3 * vision.imageSize * vision.imageSize)).map { _ -> Float in
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(random >> 40) % 2001 - 1000) / 1000
        }
        var ours = Double.infinity, theirs = Double.infinity
        _ = try? model.imageFeatures(pixelValues: pixels)  // warm up pages
        for _ in 0..<rounds {
            if let seconds = llamaEncode(text: text, mmproj: mmproj, image: image, binaries: llamaBinaries, threads: threads) {
                theirs = min(theirs, seconds)
            }
            let start = DecoderBenchmark.now()
            _ = try? model.imageFeatures(pixelValues: pixels)
            ours = min(ours, DecoderBenchmark.now() - start)
        }
        let measured = theirs.isFinite
        return .object([
            ("schema", .integer(1)),
            ("benchmark", .string("image-encode-vs-llama-mtmd-cli")),
            ("model", .string("CLIP ViT-L/14-336 (23 layers) + LLaVA mlp projector, F16 mmproj GGUF, random weights")),
            ("threads", .integer(threads)),
            ("kernels", .string(KernelSet.active.name)),
            ("seconds", .number(Benchmark.rounded(ours))),
            ("llama_cpp_seconds", measured ? .number(Benchmark.rounded(theirs)) : .null),
            ("speed_ratio", measured ? .number(Benchmark.rounded(theirs / ours)) : .null),
            ("target_ratio", .number(1.0)),
            ("meets_target", .bool(measured && ours <= theirs)),
        ])
    }

    /// llama-mtmd-cli's image encoding time, in seconds, or nil.
    static func llamaEncode(text: String, mmproj: String, image: String, binaries: String, threads: Int) -> Double? {
        let log = "/tmp/eah-bench-mtmd-\(getpid()).log"
        defer { unlink(log) }
        let run = ChildProcess.run([binaries + "/llama-mtmd-cli", "-m", text, "--mmproj", mmproj, "--image", image, "-p", "describe",
                                    "-n", "1", "-t", "\(threads)", "--no-warmup", "--chat-template", "vicuna"], stdoutPath: "/dev/null", stderrPath: log)
        guard run.status == 0, let file = fopen(log, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            guard let range = text.range(of: "batch encoding done in ") ?? text.range(of: "image slice encoded in ") else { continue }
            let digits = text[range.upperBound...].prefix { $0.isNumber || $0 == "." }
            if let milliseconds = Double(digits) { return milliseconds / 1000 }
        }
        return nil
    }
}
