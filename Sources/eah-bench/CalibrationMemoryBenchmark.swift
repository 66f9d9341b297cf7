import EAH
import EAHCheckpoint
import EAHCore
import EAHModel

/// Calibration time and peak RSS at decoder layers 0-3 of a 7B-shaped LLaMA decoder (hidden
/// 4096, 32 heads, intermediate 11008, random F16 weights built in memory) on long prompts: a
/// LLaVA-NeXT image alone is about 2,900 positions. Attention runs in row blocks and sink
/// counting accumulates column sums, so no [heads, n, n] map is held (one at 8,000 tokens would
/// be 8.2 GB per layer).
///
/// Each prompt length runs in its own process (`eah-bench calibration-memory-run TOKENS`) so its
/// peak RSS is its own. The prompt is random embeddings; image positions are 35..<tokens − 85.
enum CalibrationMemoryBenchmark {
    static let hidden = 4096, heads = 32, intermediate = 11008, layers = 4
    static let promptLengths = [3000, 8000]

    /// The parent side: one JSON line per prompt length.
    static func run(folder: String, binaries: String) throws(CheckpointError) -> [JSONValue] {
        try promptLengths.map { tokens throws(CheckpointError) -> JSONValue in
            let output = folder + "/calibration-memory-\(tokens).txt"
            let child = ChildProcess.run([binaries + "/eah-bench", "calibration-memory-run", String(tokens)], stdoutPath: output)
            guard child.status == 0, let seconds = CalibrationBenchmark.readSeconds(output) else {
                throw CheckpointError(path: output, problem: FileProblem.system("the calibration memory benchmark child failed (\(child.status))"))
            }
            let weightMB = Double(layers * matrixParameters * 2) / 1_048_576
            return .object([
                ("schema", .integer(1)),
                ("benchmark", .string("calibration-memory-7b-layers-0-3")),
                ("model", .string("7B-shaped decoder layers 0-3: hidden 4096, 32 heads, intermediate 11008, random F16 weights")),
                ("threads", .integer(ThreadPool.shared.threadCount)),
                ("prompt_tokens", .integer(tokens)),
                ("image_tokens", .integer(imagePositions(tokens).count)),
                ("calibration_seconds", .number(Benchmark.rounded(seconds))),
                ("peak_rss_mb", .number(Benchmark.rounded(Double(child.peakRSSKilobytes) / 1024))),
                ("weights_mb", .number(Benchmark.rounded(weightMB))),
                ("full_probability_tensor_mb", .number(Benchmark.rounded(Double(heads * tokens * tokens * 4) / 1_048_576))),
            ])
        }
    }

    static var matrixParameters: Int { 4 * hidden * hidden + 3 * hidden * intermediate }

    static func imagePositions(_ tokens: Int) -> [Int] { Array(35..<max(35, tokens - 85)) }

    /// The child side: builds the layers, runs one calibration prefill, prints its seconds.
    static func child(tokens: Int) -> Int32 {
        var state: UInt64 = 11
        func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) - (1 << 23)) / Float(1 << 23)
        }
        var storages: [ByteStorage] = []
        func matrix(_ rows: Int, _ columns: Int, scale: Float) -> WeightMatrix {
            let storage = ByteStorage(count: rows * columns * 2)
            storages.append(storage)
            let halves = storage.bytes.bindMemory(to: UInt16.self)
            for i in 0..<(rows * columns) { halves[i] = Float16Bits.fromFloat(next() * scale) }
            // The buffer holds rows·columns F16 values, as the type needs.
            return try! WeightMatrix(rows: rows, columns: columns, dtype: .f16, data: UnsafeRawBufferPointer(storage.bytes), owner: storage)
        }
        let scale = 1 / Float(hidden).squareRoot()
        let ones = NormWeights(weight: [Float](repeating: 1, count: hidden))
        let layerWeights = (0..<layers).map { _ in
            LlamaLayerWeights(
                inputNorm: ones, query: LinearWeights(weight: matrix(hidden, hidden, scale: scale)), key: LinearWeights(weight: matrix(hidden, hidden, scale: scale)),
                value: LinearWeights(weight: matrix(hidden, hidden, scale: scale)), output: LinearWeights(weight: matrix(hidden, hidden, scale: scale)),
                postAttentionNorm: ones, gate: LinearWeights(weight: matrix(intermediate, hidden, scale: scale)),
                up: LinearWeights(weight: matrix(intermediate, hidden, scale: scale)), down: LinearWeights(weight: matrix(hidden, intermediate, scale: 1 / Float(intermediate).squareRoot())))
        }
        let head = WeightMatrix(rows: 1, columns: hidden, values: [Float](repeating: 0, count: hidden))
        let config = LlamaConfig(hiddenSize: hidden, intermediateSize: intermediate, layerCount: layers, headCount: heads, kvHeadCount: heads,
                                 headDim: hidden / heads, vocabSize: 1, rmsNormEps: 1e-5, maxPositionEmbeddings: 32768, rope: RopeParameters(theta: 10000))
        let model = LlamaTextModel(config: config, weights: LlamaWeights(embedTokens: head, layers: layerWeights, norm: ones, lmHead: head))
        let embeddings = (0..<(tokens * hidden)).map { _ in next() }
        let hook = EAHAttentionHook(patches: [], observedLayers: Set(0..<layers))
        let start = DecoderBenchmark.now()
        model.observePrefill(embeddings: embeddings, imagePositions: imagePositions(tokens), hook: hook, throughLayer: layers - 1)
        let seconds = DecoderBenchmark.now() - start
        guard hook.sinkCounts.count == layers else {
            StandardStream.error.write("eah-bench: calibration recorded \(hook.sinkCounts.count) layers, expected \(layers)\n")
            return 1
        }
        withExtendedLifetime(storages) { print(seconds) }
        return 0
    }
}
