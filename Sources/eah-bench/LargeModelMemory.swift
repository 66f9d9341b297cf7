import EAHCheckpoint
import EAHCore
import EAHModel

/// `eah-bench memory-7b FILE THREADS`: LLaVA-1.5-7B's language model (LLaMA-2-7B shape) as a
/// Q4_K_M GGUF (tools/make_bench_models.py llama7b-q4_k_m) loaded and run for a 32-token prompt
/// and 8 decode steps; prints load seconds, tokens/s and this process's peak RSS against the
/// 6 GB target. The weights stay mapped in their stored types (no F32 copy), so peak RSS is
/// about the file plus activations and the KV cache.
enum LargeModelMemory {
    static let config = LlamaConfig(hiddenSize: 4096, intermediateSize: 11008, layerCount: 32, headCount: 32, kvHeadCount: 32,
                                    headDim: 128, vocabSize: 32000, rmsNormEps: 1e-5, maxPositionEmbeddings: 4096,
                                    rope: RopeParameters(theta: 10000))

    static func run(path: String, threads: Int) -> JSONValue? {
        ThreadPool.shared = ThreadPool(threadCount: threads)
        let loadStart = DecoderBenchmark.now()
        let weights: LlamaWeights
        do {
            weights = try TinyLlamaCheckpoint.weights(from: try Checkpoint.open(path), dequantize: false, naming: .llamaCpp,
                                                      layerCount: config.layerCount)
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return nil
        }
        let loadSeconds = DecoderBenchmark.now() - loadStart
        let prompt = 32, steps = 8
        let (prefill, decode) = DecoderBenchmark.time(weights: weights, config: config, promptLength: prompt, decodeSteps: steps)
        let peakMB = Double(peakResidentSetBytes() ?? 0) / 1_048_576
        return .object([
            ("schema", .integer(1)),
            ("benchmark", .string("memory-llama7b-q4_k_m")),
            ("model", .string("LLaMA-2-7B-shaped (LLaVA-1.5-7B language model) Q4_K/Q6_K GGUF, random blocks, text only")),
            ("file_mb", .number(Benchmark.rounded(Double(Benchmark.fileSize(path)) / 1048576))),
            ("threads", .integer(threads)),
            ("load_seconds", .number(Benchmark.rounded(loadSeconds))),
            ("prefill_tokens", .integer(prompt)),
            ("prefill_tokens_per_s", .number(Benchmark.rounded(Double(prompt) / prefill))),
            ("decode_tokens", .integer(steps)),
            ("decode_tokens_per_s", .number(Benchmark.rounded(Double(steps) / decode))),
            ("peak_rss_mb", .number(Benchmark.rounded(peakMB))),
            ("target_peak_rss_mb", .integer(6144)),
            ("meets_target", .bool(peakMB <= 6144)),
        ])
    }
}
