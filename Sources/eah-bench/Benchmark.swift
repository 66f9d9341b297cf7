import EAHCheckpoint
import EAHCore

/// `eah-bench DIR BIN_DIR`: the conversion benchmark behind `make bench`;
/// `eah-bench matmul [NUMPY_JSON]`: the matrix-product benchmark (`MatmulBenchmark`);
/// `eah-bench tokenize VOCAB_DIR TEXT [REFERENCE_JSON]`: tokenization throughput (`TokenizerBenchmark`).
/// `calibration` and `calibration-memory` run EAH calibration benchmarks (`CalibrationBenchmark`,
/// `CalibrationMemoryBenchmark`) in child processes.
/// `eah-bench llama-cpp DATA_DIR LLAMA_BIN_DIR THREADS`: the decoder beside llama-bench (`LlamaCppComparison`);
/// `eah-bench ours FILE THREADS`: only our side of that comparison on one GGUF (for profiling);
/// `eah-bench memory-7b FILE THREADS`: peak RSS of a 7B-shaped Q4_K_M model (`LargeModelMemory`);
/// `eah-bench image-encode TEXT MMPROJ IMAGE LLAMA_BIN_DIR THREADS`: CLIP encode beside llama-mtmd-cli.
///
/// Generates (once) a TinyLlama-shaped F16 safetensors checkpoint in DIR, then measures, in the
/// same run, `cat` copying its bytes and `eah-convert convert --to gguf` converting it, and
/// prints a JSON line per conversion (F16 kept, and quantized to Q8_0) with seconds, GB/s,
/// peak RSS and the ratio to the copy; then the decoder's prefill and decode speed
/// (`DecoderBenchmark`). A third argument runs only `convert` or `decoder` (or `all`); a fourth
/// names the numpy matmul JSON lines whose best GFLOP/s is the prefill's reference peak.
@main
struct Benchmark {
    static func main() {
        let arguments = CommandLine.arguments
        if arguments.count == 4, arguments[1] == "calibration-run" {
            exit(CalibrationBenchmark.child(model: arguments[2], mode: arguments[3]))
        }
        if arguments.count == 3, arguments[1] == "calibration-memory-run", let tokens = Int(arguments[2]), tokens > 120 {
            exit(CalibrationMemoryBenchmark.child(tokens: tokens))
        }
        if (4...5).contains(arguments.count), arguments[1] == "tokenize" {
            exit(TokenizerBenchmark.run(folder: arguments[2], textPath: arguments[3], referencePath: arguments.count == 5 ? arguments[4] : nil))
        }
        if arguments.count == 5, arguments[1] == "llama-cpp", let threads = Int(arguments[4]), threads > 0 {
            _ = LlamaCppComparison.run(folder: arguments[2], llamaBinaries: arguments[3], threads: threads)
            return
        }
        if arguments.count == 4, arguments[1] == "ours", let threads = Int(arguments[3]), threads > 0 {
            exit(LlamaCppComparison.runOurs(path: arguments[2], threads: threads))
        }
        if arguments.count == 7, arguments[1] == "image-encode", let threads = Int(arguments[6]), threads > 0 {
            guard let line = ImageEncodeComparison.run(text: arguments[2], mmproj: arguments[3], image: arguments[4],
                                                       llamaBinaries: arguments[5], threads: threads) else { exit(1) }
            print(line.serialized)
            return
        }
        if arguments.count == 4, arguments[1] == "memory-7b", let threads = Int(arguments[3]), threads > 0 {
            guard let line = LargeModelMemory.run(path: arguments[2], threads: threads) else { exit(1) }
            print(line.serialized)
            return
        }
        if arguments.count >= 2, arguments[1] == "matmul", arguments.count <= 3 {
            MatmulBenchmark.run(numpyPath: arguments.count == 3 ? arguments[2] : nil)
            return
        }
        guard (3...5).contains(arguments.count), arguments.count == 3 || ["convert", "decoder", "calibration", "calibration-memory", "all"].contains(arguments[3]) else {
            StandardStream.error.write("usage: eah-bench DATA_DIR BIN_DIR [convert|decoder|calibration|calibration-memory|all] [NUMPY_JSON] | eah-bench matmul [NUMPY_JSON] | eah-bench tokenize VOCAB_DIR TEXT [REFERENCE_JSON] | eah-bench llama-cpp DATA_DIR LLAMA_BIN_DIR THREADS | eah-bench ours FILE THREADS | eah-bench memory-7b FILE THREADS | eah-bench image-encode TEXT MMPROJ IMAGE LLAMA_BIN_DIR THREADS\n")
            exit(2)
        }
        let folder = arguments[1], binaries = arguments[2]
        let only = arguments.count >= 4 && arguments[3] != "all" ? arguments[3] : nil
        let numpyPeak = arguments.count == 5 ? MatmulBenchmark.readNumpy(arguments[4]).values.max() : nil
        mkdir(folder, 0o755)
        let source = folder + "/tinyllama-f16.safetensors"
        do {
            if access(source, F_OK) != 0 {
                StandardStream.error.write("generating \(source) (about 2.2 GB, once)\n")
                try TinyLlamaCheckpoint.write(to: source)
            }
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            exit(1)
        }
        if only == nil || only == "convert" { convertBenchmark(source: source, folder: folder, binaries: binaries) }
        // Child processes first: a child's peak RSS (ru_maxrss) starts from this process's
        // own when it is spawned, so the in-process decoder benchmark (GBs of weights) runs last.
        if only == nil || only == "calibration" {
            do {
                print(try CalibrationBenchmark.run(folder: folder, binaries: binaries).serialized)
            } catch {
                StandardStream.error.write("eah-bench: \(error)\n")
                exit(1)
            }
        }
        if only == nil || only == "calibration-memory" {
            do {
                for line in try CalibrationMemoryBenchmark.run(folder: folder, binaries: binaries) { print(line.serialized) }
            } catch {
                StandardStream.error.write("eah-bench: \(error)\n")
                exit(1)
            }
        }
        if only == nil || only == "decoder" {
            do {
                for line in try DecoderBenchmark.run(source: source, q8Path: folder + "/tinyllama-q8_0.gguf", numpyPeak: numpyPeak) { print(line.serialized) }
            } catch {
                StandardStream.error.write("eah-bench: \(error)\n")
                exit(1)
            }
        }
    }

    /// `cat` versus `eah-convert convert` on the same bytes, warm page cache for both.
    static func convertBenchmark(source: String, folder: String, binaries: String) {
        let copyTarget = folder + "/copy.safetensors", output = folder + "/converted.gguf"
        let bytes = fileSize(source)
        // Warm the page cache so both measurements read from memory alike.
        _ = ChildProcess.run(["/bin/cat", source], stdoutPath: "/dev/null")
        let copy = ChildProcess.run(["/bin/cat", source], stdoutPath: copyTarget)
        unlink(copyTarget)
        for (name, extra) in [("convert-safetensors-f16-to-gguf", [String]()), ("convert-safetensors-f16-to-gguf-q8_0", ["--dtype", "q8_0"])] {
            let convert = ChildProcess.run([binaries + "/eah-convert", "convert", source, "-o", output, "--to", "gguf", "--keep-names", "--force"] + extra,
                                           stdoutPath: "/dev/null")
            unlink(output)
            guard copy.status == 0, convert.status == 0 else {
                StandardStream.error.write("eah-bench: a child process failed (cat \(copy.status), eah-convert \(convert.status))\n")
                exit(1)
            }
            let ratio = convert.seconds / copy.seconds
            let peakMB = Double(convert.peakRSSKilobytes) / 1024
            var fields: [(String, JSONValue)] = [
                ("schema", .integer(1)),
                ("benchmark", .string(name)),
                ("model", .string("tinyllama-shaped: hidden 2048, 22 layers, vocab 32000")),
                ("bytes", .integer(bytes)),
                ("seconds", .number(rounded(convert.seconds))),
                ("gb_per_s", .number(rounded(Double(bytes) / convert.seconds / 1e9))),
                ("peak_rss_mb", .number(rounded(peakMB))),
                ("copy_seconds", .number(rounded(copy.seconds))),
                ("copy_peak_rss_mb", .number(rounded(Double(copy.peakRSSKilobytes) / 1024))),
                ("ratio_to_copy", .number(rounded(ratio))),
            ]
            if extra.isEmpty {
                // The targets apply to the plain F16 conversion.
                fields += [
                    ("target_ratio", .number(1.3)),
                    ("target_peak_rss_mb", .integer(300)),
                    ("meets_targets", .bool(ratio <= 1.3 && peakMB < 300)),
                ]
            }
            print(JSONValue.object(fields).serialized)
        }
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    /// The JSON values of a JSON-lines file (lines that do not parse are skipped).
    static func jsonLines(_ path: String) -> [JSONValue] {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var values: [JSONValue] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            if let value = try? JSONParser.parse(String(cString: line)) { values.append(value) }
        }
        return values
    }

    static func fileSize(_ path: String) -> Int {
        var status = stat()
        return stat(path, &status) == 0 ? Int(status.st_size) : 0
    }
}
