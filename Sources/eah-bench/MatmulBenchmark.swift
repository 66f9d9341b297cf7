import EAHCheckpoint
import EAHCore

/// `eah-bench matmul [NUMPY_JSON]`: matrix-product throughput of `MatrixMultiply`.
///
/// Prefill shapes of TinyLlama (m = 128 rows, k = 2048, n = 2048 and 5632) for
/// `multiplyTransposed` and `linear` with F32, F16 and Q8_0 weights, in GFLOP/s (2·m·n·k per
/// product, best of several runs); decode (m = 1) `linear` in GB/s of weight bytes streamed.
/// NUMPY_JSON holds the JSON lines of tools/bench_numpy_matmul.py from the same run; prefill
/// lines then carry numpy's GFLOP/s for the shape and the ratio against it.
enum MatmulBenchmark {
    static let m = 128, k = 2048, ns = [2048, 5632]

    static func run(numpyPath: String?) {
        let numpy = numpyPath.map(readNumpy) ?? [:]
        let pool = ThreadPool.shared
        var random = UInt64(0x9E37_79B9_7F4A_7C15)
        func next() -> Float {
            random = random &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: random >> 11) % 2001 - 1000) / 1000
        }
        let x = (0..<(m * k)).map { _ in next() }
        for n in ns {
            let w = (0..<(n * k)).map { _ in next() }
            var y = [Float](repeating: 0, count: m * n)
            let flops = 2.0 * Double(m * n * k)
            let reference = numpy["\(m)x\(n)x\(k)"]
            func report(_ name: String, seconds: Double) {
                let gflops = flops / seconds / 1e9
                var fields: [(String, JSONValue)] = [
                    ("schema", .integer(1)), ("benchmark", .string(name)),
                    ("m", .integer(m)), ("n", .integer(n)), ("k", .integer(k)), ("threads", .integer(pool.threadCount)),
                    ("seconds", .number(rounded(seconds, 6))), ("gflops", .number(rounded(gflops, 2))),
                ]
                if let reference {
                    fields += [("numpy_gflops", .number(rounded(reference, 2))),
                               ("ratio_to_numpy", .number(rounded(gflops / reference, 3))),
                               ("target_ratio", .number(0.6)), ("meets_target", .bool(gflops / reference >= 0.6))]
                }
                print(JSONValue.object(fields).serialized)
            }
            let seconds = best {
                x.withUnsafeBufferPointer { a in w.withUnsafeBufferPointer { b in y.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.multiplyTransposed(a.baseAddress!, lda: k, b.baseAddress!, ldb: k, into: c.baseAddress!,
                                                      ldc: n, m: m, n: n, k: k, pool: pool)
                } } }
            }
            report("matmul-f32-multiplyTransposed", seconds: seconds)
            for dtype in [DType.f32, .f16, .q8_0] {
                guard let weight = makeWeight(w, rows: n, columns: k, dtype: dtype) else { continue }
                let prefill = best { x.withUnsafeBufferPointer { a in y.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.linear(a.baseAddress!, count: m, weight: weight, bias: nil, into: c.baseAddress!, pool: pool)
                } } }
                report("matmul-linear-\(dtype.name.lowercased())", seconds: prefill)
                let decode = best(runs: 20) { x.withUnsafeBufferPointer { a in y.withUnsafeMutableBufferPointer { c in
                    MatrixMultiply.linear(a.baseAddress!, count: 1, weight: weight, bias: nil, into: c.baseAddress!, pool: pool)
                } } }
                let fields: [(String, JSONValue)] = [
                    ("schema", .integer(1)), ("benchmark", .string("matvec-linear-\(dtype.name.lowercased())")),
                    ("m", .integer(1)), ("n", .integer(n)), ("k", .integer(k)), ("threads", .integer(pool.threadCount)),
                    ("weight_bytes", .integer(weight.data.count)), ("seconds", .number(rounded(decode, 6))),
                    ("gb_per_s", .number(rounded(Double(weight.data.count) / decode / 1e9, 2))),
                    ("gflops", .number(rounded(2.0 * Double(n * k) / decode / 1e9, 2))),
                ]
                print(JSONValue.object(fields).serialized)
            }
        }
    }

    /// `values` encoded as `dtype` (owned by the returned matrix).
    static func makeWeight(_ values: [Float], rows: Int, columns: Int, dtype: DType) -> WeightMatrix? {
        guard dtype != .f32 else { return WeightMatrix(rows: rows, columns: columns, values: values) }
        guard let size = dtype.byteCount(elements: values.count) else { return nil }
        let storage = ByteStorage(count: size)
        do {
            try values.withUnsafeBufferPointer { source throws(ConversionError) in
                try Quantizer.fromFloat32(source, to: dtype, into: storage.bytes)
            }
            return try WeightMatrix(rows: rows, columns: columns, dtype: dtype, data: UnsafeRawBufferPointer(storage.bytes), owner: storage)
        } catch {
            StandardStream.error.write("eah-bench: \(error)\n")
            return nil
        }
    }

    /// Seconds of the fastest of `runs` calls after one warm-up call.
    static func best(runs: Int = 5, _ body: () -> Void) -> Double {
        body()
        var fastest = Double.infinity
        for _ in 0..<runs {
            let start = now()
            body()
            fastest = min(fastest, now() - start)
        }
        return fastest
    }

    /// numpy GFLOP/s by "MxNxK" from the script's JSON lines (missing or bad lines are skipped).
    static func readNumpy(_ path: String) -> [String: Double] {
        var result: [String: Double] = [:]
        for value in Benchmark.jsonLines(path) {
            guard case .integer(let m)? = value["m"], case .integer(let n)? = value["n"], case .integer(let k)? = value["k"] else { continue }
            switch value["gflops"] {
            case .number(let gflops)?: result["\(m)x\(n)x\(k)"] = gflops
            case .integer(let gflops)?: result["\(m)x\(n)x\(k)"] = Double(gflops)
            default: continue
            }
        }
        return result
    }

    static func rounded(_ value: Double, _ digits: Int) -> Double {
        let scale = pow(10, Double(digits))
        return (value * scale).rounded() / scale
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
