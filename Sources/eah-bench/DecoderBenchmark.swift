import EAHCheckpoint
import EAHCore
import EAHModel

/// Prefill and decode speed of the LLaMA decoder on the TinyLlama-shaped checkpoint, with F32,
/// F16 and Q8_0 weights: one JSON line per weight type.
enum DecoderBenchmark {
    static let promptLength = 128, decodeSteps = 32

    /// Runs every weight type; `q8Path` is where the Q8_0 GGUF is made once.
    static func run(source: String, q8Path: String, numpyPeak: Double?) throws(CheckpointError) -> [JSONValue] {
        if access(q8Path, F_OK) != 0 {
            StandardStream.error.write("making \(q8Path) (once)\n")
            try Converter.convert(try Checkpoint.open(source), to: q8Path, options: ConversionOptions(format: .gguf, dtype: .q8_0))
        }
        var lines: [JSONValue] = []
        for (label, path, dequantize) in [("f16", source, false), ("f32", source, true), ("q8_0", q8Path, false)] {
            let reader = try Checkpoint.open(path)
            let weights = try TinyLlamaCheckpoint.weights(from: reader, dequantize: dequantize)
            lines.append(measure(label: label, weights: weights, numpyPeak: numpyPeak))
        }
        return lines
    }

    /// Prefill seconds for `promptLength` tokens from an empty cache, then seconds for
    /// `decodeSteps` greedy tokens after them.
    static func time(weights: LlamaWeights, config: LlamaConfig = TinyLlamaCheckpoint.config,
                     promptLength: Int = promptLength, decodeSteps: Int = decodeSteps) -> (prefill: Double, decode: Double) {
        let model = LlamaTextModel(config: config, weights: weights)
        var random = UInt64(42)
        let prompt = (0..<promptLength).map { _ -> Int in
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Int(random >> 33) % config.vocabSize
        }
        _ = model.forward(Array(prompt.prefix(8)))  // warm up pages and caches
        model.reset()
        let prefillStart = now()
        var logits = model.forward(prompt)
        let prefillSeconds = now() - prefillStart
        let decodeStart = now()
        for _ in 0..<decodeSteps {
            let next = logits.indices.max { logits[$0] < logits[$1] } ?? 0
            logits = model.forward([next])
        }
        return (prefillSeconds, now() - decodeStart)
    }

    private static func measure(label: String, weights: LlamaWeights, numpyPeak: Double?) -> JSONValue {
        let (prefillSeconds, decodeSeconds) = time(weights: weights)
        let flops = 2.0 * Double(promptLength) * Double(TinyLlamaCheckpoint.matrixParameters)
        let gflops = flops / prefillSeconds / 1e9
        var fields: [(String, JSONValue)] = [
            ("schema", .integer(1)),
            ("benchmark", .string("decoder-\(label)")),
            ("model", .string("tinyllama-shaped: hidden 2048, 22 layers, vocab 32000, random weights")),
            ("threads", .integer(ThreadPool.shared.threadCount)),
            ("prefill_tokens", .integer(promptLength)),
            ("prefill_seconds", .number(Benchmark.rounded(prefillSeconds))),
            ("prefill_tokens_per_s", .number(Benchmark.rounded(Double(promptLength) / prefillSeconds))),
            ("prefill_matmul_gflops", .number(Benchmark.rounded(gflops))),
            ("decode_tokens", .integer(decodeSteps)),
            ("decode_tokens_per_s", .number(Benchmark.rounded(Double(decodeSteps) / decodeSeconds))),
        ]
        if let numpyPeak {
            // The target: prefill matrix products at ≥ 60% of numpy's F32 GEMM peak.
            fields += [("numpy_peak_gflops", .number(numpyPeak)), ("ratio_to_numpy_peak", .number(Benchmark.rounded(gflops / numpyPeak))),
                       ("target_ratio", .number(0.6)), ("meets_target", .bool(gflops / numpyPeak >= 0.6))]
        }
        return .object(fields)
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
