import EAHCheckpoint
import EAHCore

/// `eah-bench llama-cpp DATA_DIR LLAMA_BIN_DIR THREADS`: the decoder against llama.cpp's
/// `llama-bench` on the same GGUF files (`llama-<type>.gguf` in DATA_DIR, made by tools/bench.sh)
/// with the same thread count. Prefill is 128 tokens from an empty cache (llama-bench `pp128`),
/// decode 32 greedy tokens (`tg32`; ours follow the 128 prompt tokens, llama-bench's start from an
/// empty cache). Runs alternate (llama.cpp, ours, llama.cpp, ours) and each side keeps its best,
/// so load from other processes on the machine hits both alike. One JSON line per type.
enum LlamaCppComparison {
    static let types = ["f16", "q8_0", "q4_0", "q4_k_m"]
    static let rounds = 2

    static func run(folder: String, llamaBinaries: String, threads: Int) -> [JSONValue] {
        ThreadPool.shared = ThreadPool(threadCount: threads)
        var lines: [JSONValue] = []
        for type in types {
            let path = folder + "/llama-\(type).gguf"
            guard access(path, R_OK) == 0 else {
                StandardStream.error.write("eah-bench: \(path) is missing (tools/bench.sh makes it)\n")
                continue
            }
            var ours = (prefill: 0.0, decode: 0.0), theirs = (prefill: 0.0, decode: 0.0)
            var failure: String?
            for _ in 0..<rounds {
                if let reference = llamaBench(path, binaries: llamaBinaries, threads: threads) {
                    theirs = (max(theirs.prefill, reference.prefill), max(theirs.decode, reference.decode))
                } else {
                    failure = "llama-bench failed on \(path)"
                }
                do {
                    let speed = try oursTokensPerSecond(path)
                    ours = (max(ours.prefill, speed.prefill), max(ours.decode, speed.decode))
                } catch {
                    failure = "\(error)"
                }
            }
            if let failure { StandardStream.error.write("eah-bench: \(failure)\n") }
            func ratio(_ a: Double, _ b: Double) -> JSONValue { b > 0 && a > 0 ? .number(Benchmark.rounded(a / b)) : .null }
            lines.append(.object([
                ("schema", .integer(1)),
                ("benchmark", .string("decoder-vs-llama.cpp-\(type)")),
                ("model", .string("tinyllama-shaped llama GGUF, random weights (tools/make_bench_models.py, llama-quantize)")),
                ("threads", .integer(threads)),
                ("kernels", .string(KernelSet.active.name)),
                ("prefill_tokens", .integer(DecoderBenchmark.promptLength)),
                ("prefill_tokens_per_s", .number(Benchmark.rounded(ours.prefill))),
                ("llama_cpp_prefill_tokens_per_s", .number(Benchmark.rounded(theirs.prefill))),
                ("prefill_ratio", ratio(ours.prefill, theirs.prefill)),
                ("decode_tokens", .integer(DecoderBenchmark.decodeSteps)),
                ("decode_tokens_per_s", .number(Benchmark.rounded(ours.decode))),
                ("llama_cpp_decode_tokens_per_s", .number(Benchmark.rounded(theirs.decode))),
                ("decode_ratio", ratio(ours.decode, theirs.decode)),
                ("target_ratio", .number(1.0)),
                ("meets_target", .bool(ours.prefill >= theirs.prefill && ours.decode >= theirs.decode && theirs.prefill > 0)),
            ]))
            print(lines.last!.serialized)
        }
        return lines
    }

    /// Our prefill and decode tokens/s on one GGUF (loaded afresh, as each round does).
    static func oursTokensPerSecond(_ path: String) throws(CheckpointError) -> (prefill: Double, decode: Double) {
        let weights = try TinyLlamaCheckpoint.weights(from: try Checkpoint.open(path), dequantize: false, naming: .llamaCpp)
        let (prefill, decode) = DecoderBenchmark.time(weights: weights)
        return (Double(DecoderBenchmark.promptLength) / prefill, Double(DecoderBenchmark.decodeSteps) / decode)
    }

    /// Our prefill and decode tokens/s on one GGUF, one JSON line (a profiler's workload).
    static func runOurs(path: String, threads: Int) -> Int32 {
        ThreadPool.shared = ThreadPool(threadCount: threads)
        do {
            let speed = try oursTokensPerSecond(path)
            print(JSONValue.object([
                ("schema", .integer(1)), ("benchmark", .string("decoder-gguf")), ("path", .string(path)), ("threads", .integer(threads)),
                ("prefill_tokens_per_s", .number(Benchmark.rounded(speed.prefill))),
                ("decode_tokens_per_s", .number(Benchmark.rounded(speed.decode))),
            ]).serialized)
            return 0
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return 1
        }
    }

    /// llama-bench's pp128 and tg32 tokens/s (one repetition after its warm-up), or nil.
    static func llamaBench(_ path: String, binaries: String, threads: Int) -> (prefill: Double, decode: Double)? {
        let output = "/tmp/eah-bench-llama-\(getpid()).jsonl"
        defer { unlink(output) }
        let run = ChildProcess.run([binaries + "/llama-bench", "-m", path, "-t", "\(threads)", "-p", "\(DecoderBenchmark.promptLength)",
                                    "-n", "\(DecoderBenchmark.decodeSteps)", "-r", "1", "-o", "jsonl"], stdoutPath: output)
        guard run.status == 0 else { return nil }
        var prefill = 0.0, decode = 0.0
        for values in Benchmark.jsonLines(output) {
            guard case .integer(let prompt)? = values["n_prompt"], case .integer(let generated)? = values["n_gen"] else { continue }
            let speed: Double
            switch values["avg_ts"] {
            case .number(let value)?: speed = value
            case .integer(let value)?: speed = Double(value)
            default: continue
            }
            if prompt > 0 && generated == 0 { prefill = speed } else if generated > 0 && prompt == 0 { decode = speed }
        }
        return (prefill, decode)
    }
}
