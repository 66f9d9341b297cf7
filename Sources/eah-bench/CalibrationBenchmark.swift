import EAH
import EAHCheckpoint
import EAHCore
import EAHModel

/// Calibration cost against a full forward pass, for a TinyLlama-shaped decoder behind a CLIP
/// ViT-L/14-336-shaped vision tower (random F16 weights, llava-hf layout, generated once).
///
/// Each measurement runs in its own process (`eah-bench calibration-run DIR layers|full`) so its
/// peak RSS is its own: calibration at layers 0-3 runs the tower, the projector and four
/// decoder layers; the full forward runs the whole prefill with logits.
enum CalibrationBenchmark {
    static let samples = 2
    static let textTokensBefore = 35, textTokensAfter = 20

    /// The parent side: makes the model if needed, runs both children, returns the JSON line.
    static func run(folder: String, binaries: String) throws(CheckpointError) -> JSONValue {
        let model = folder + "/tinyllava-clip-l"
        if access(model + "/config.json", F_OK) != 0 {
            StandardStream.error.write("generating \(model) (about 2.8 GB, once)\n")
            try TinyLlavaCheckpoint.write(to: model)
        }
        let calibration = ChildProcess.run([binaries + "/eah-bench", "calibration-run", model, "layers"], stdoutPath: folder + "/calibration-layers.txt")
        let full = ChildProcess.run([binaries + "/eah-bench", "calibration-run", model, "full"], stdoutPath: folder + "/calibration-full.txt")
        guard calibration.status == 0, full.status == 0,
              let layersSeconds = readSeconds(folder + "/calibration-layers.txt"), let fullSeconds = readSeconds(folder + "/calibration-full.txt") else {
            throw CheckpointError(path: model, problem: FileProblem.system("a calibration benchmark child failed (\(calibration.status), \(full.status))"))
        }
        let layersRSS = Double(calibration.peakRSSKilobytes) / 1024, fullRSS = Double(full.peakRSSKilobytes) / 1024
        return .object([
            ("schema", .integer(1)),
            ("benchmark", .string("calibration-layers-0-3-vs-full-forward")),
            ("model", .string("tinyllama-shaped decoder (22 layers) + CLIP ViT-L/14-336 tower (24 layers), random F16 weights")),
            ("threads", .integer(ThreadPool.shared.threadCount)),
            ("prompt_tokens", .integer(textTokensBefore + 576 + textTokensAfter)),
            ("samples", .integer(samples)),
            ("calibration_seconds_per_sample", .number(Benchmark.rounded(layersSeconds))),
            ("calibration_peak_rss_mb", .number(Benchmark.rounded(layersRSS))),
            ("full_forward_seconds_per_sample", .number(Benchmark.rounded(fullSeconds))),
            ("full_forward_peak_rss_mb", .number(Benchmark.rounded(fullRSS))),
            ("time_ratio", .number(Benchmark.rounded(layersSeconds / fullSeconds))),
            ("rss_ratio", .number(Benchmark.rounded(layersRSS / fullRSS))),
        ])
    }

    /// The child side: loads the model and times `samples` calibration samples or full forwards;
    /// prints the seconds per sample.
    static func child(model path: String, mode: String) -> Int32 {
        do {
            let model = LlavaModel(weights: try LlavaLoader.load(model: path))
            let config = model.config
            var state: UInt64 = 7
            func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
            let ids = (0..<textTokensBefore).map { _ in Int(next() % 31000) + 1 } + [LlavaPrompt.imageIndex]
                + (0..<textTokensAfter).map { _ in Int(next() % 31000) + 1 }
            let prompt = try LlavaPrompt.fromRawIDs(ids, config: config)
            let pixels = (0..<(3 * config.vision.imageSize * config.vision.imageSize)).map { _ in Float(Int(next() % 2001) - 1000) / 500 }
            var total = 0.0
            for _ in 0..<samples {
                let start = DecoderBenchmark.now()
                if mode == "layers" {
                    let hook = EAHAttentionHook(patches: [], observedLayers: [0, 1, 2, 3])
                    try model.observePrefill(prompt: prompt, pixelValues: pixels, hook: hook, throughLayer: 3)
                } else {
                    _ = try model.generate(prompt: prompt, pixelValues: pixels, maxTokens: 1)
                }
                total += DecoderBenchmark.now() - start
            }
            print(total / Double(samples))
            return 0
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return 1
        }
    }

    static func readSeconds(_ path: String) -> Double? {
        guard let file = try? MappedFile(path: path) else { return nil }
        return withExtendedLifetime(file) { Double(String(decoding: file.bytes, as: UTF8.self).filter { !$0.isWhitespace }) }
    }
}
