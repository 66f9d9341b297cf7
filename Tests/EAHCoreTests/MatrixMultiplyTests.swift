@testable import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// `MatrixMultiply` against float64 numpy references (fixtures from tools/make_matmul_fixtures.py).
///
/// Tolerance: float32 accumulation of k products of magnitude ~1 has a random-walk rounding error
/// of about eps·sqrt(k)·(1 + |ref|) ≈ 6e-8·sqrt(k)·(1 + |ref|); we allow 1e-4·(1 + |ref|)·sqrt(k)/8,
/// a >100× margin that still catches any wrong element, block or scale (errors of order 1).
@Suite struct MatrixMultiplyTests {
    struct Index: Decodable {
        struct Linear: Decodable {
            let dtype: String, count: Int, rows: Int, columns: Int
            let x: String, weight: String, bias: String, expected: String
        }
        struct Product: Decodable {
            let m: Int, n: Int, k: Int, a: String, lda: Int, b: String, ldb: Int, expected: String
        }
        let linear: [Linear]
        let multiplyTransposed: [Product]
        let multiply: [Product]
    }

    static let index: Index? = {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: Fixtures.path("matmul/index.json"))) else { return nil }
        return try? JSONDecoder().decode(Index.self, from: data)
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("matmul/" + name))))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return stride(from: 0, to: raw.count, by: 4).map { offset in
            Float(bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
        }
    }

    static func expectClose(_ actual: [Float], _ expected: [Double], k: Int, _ label: String) {
        #expect(actual.count == expected.count)
        let scale = 1e-4 * Double(k).squareRoot() / 8
        var worst = 0.0, failures = 0
        for (a, e) in zip(actual, expected) {
            let excess = abs(Double(a) - e) / (scale * (1 + abs(e)))
            if !(excess <= 1) { failures += 1 }
            worst = max(worst, excess.isNaN ? .infinity : excess)
        }
        #expect(failures == 0, "\(label): \(failures) of \(actual.count) outside tolerance (worst \(worst)× the bound)")
    }

    static let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)]

    static var linearCases: [Index.Linear] { index?.linear ?? [] }

    @Test("fixture index is present")
    func indexLoads() throws {
        let index = try #require(Self.index)
        #expect(index.linear.count == 8 && index.multiplyTransposed.count == 1 && index.multiply.count == 1)
    }

    @Test("linear against numpy float64, every weight type, decode and prefill, bias or not, 1–3 threads",
          arguments: linearCases)
    func linear(_ fixture: Index.Linear) throws {
        let dtype = try #require(DType(rawValue: fixture.dtype))
        #expect(MatrixMultiply.hasKernel(for: dtype))
        let x = try Self.floats(fixture.x), bias = try Self.floats(fixture.bias)
        let expected = try Self.floats(fixture.expected)
        let raw = try Self.bytes(fixture.weight)
        try raw.withUnsafeBytes { weightBytes in
            let weight = try WeightMatrix(rows: fixture.rows, columns: fixture.columns, dtype: dtype, data: weightBytes, owner: nil)
            // count 1 (decode), 3 (few rows) and all rows (blocked kernel: > 6 rows, edge tiles).
            for count in [1, 3, fixture.count] {
                for withBias in [false, true] {
                    var results: [[Float]] = []
                    for pool in Self.pools {
                        var y = [Float](repeating: .nan, count: count * fixture.rows)
                        x.withUnsafeBufferPointer { xs in bias.withUnsafeBufferPointer { b in y.withUnsafeMutableBufferPointer { out in
                            MatrixMultiply.linear(xs.baseAddress!, count: count, weight: weight, bias: withBias ? b.baseAddress : nil,
                                                  into: out.baseAddress!, pool: pool)
                        } } }
                        results.append(y)
                    }
                    let reference = (0..<(count * fixture.rows)).map { index in
                        Double(expected[index]) + (withBias ? Double(bias[index % fixture.rows]) : 0)
                    }
                    let label = "\(fixture.dtype) \(fixture.rows)x\(fixture.columns) count \(count) bias \(withBias)"
                    if let type = WeightTypes.type(of: dtype), type.activation != .f32 {
                        // Quantized weights multiply Q8_0 activations: see WeightTypeTests.
                        let w = try WeightTypeTests.decode(raw, dtype, count: fixture.rows * fixture.columns)
                        let decodedX = try WeightTypeTests.activations(x, columns: fixture.columns, for: type).values
                        let failure = WeightTypeTests.check(results[0], reference: reference.map { Float($0) }, x: x, decodedX: decodedX, w: w,
                                                            rows: fixture.rows, columns: fixture.columns, count: count, quantized: true)
                        #expect(failure == nil, "\(label): \(failure ?? "")")
                    } else {
                        Self.expectClose(results[0], reference, k: fixture.columns, label)
                    }
                    #expect(results[1] == results[0] && results[2] == results[0], "thread counts disagree")
                }
            }
        }
    }

    /// Runs `product` on fixture inputs with C at leading dimension n + 5 and checks the m × n
    /// result (and that padding columns are untouched) for row counts 1, 4 and m.
    func checkProduct(_ fixture: Index.Product, _ label: String,
                      _ product: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, ThreadPool) -> Void) throws {
        let a = try Self.floats(fixture.a), b = try Self.floats(fixture.b), expected = try Self.floats(fixture.expected)
        let ldc = fixture.n + 5
        for m in [1, 4, fixture.m] {
            var results: [[Float]] = []
            for pool in Self.pools {
                var c = [Float](repeating: -7, count: m * ldc)
                a.withUnsafeBufferPointer { a in b.withUnsafeBufferPointer { b in c.withUnsafeMutableBufferPointer { c in
                    product(a.baseAddress!, b.baseAddress!, c.baseAddress!, ldc, m, pool)
                } } }
                results.append(c)
            }
            let actual = (0..<(m * fixture.n)).map { results[0][($0 / fixture.n) * ldc + $0 % fixture.n] }
            Self.expectClose(actual, expected[0..<(m * fixture.n)].map(Double.init), k: fixture.k, "\(label) m \(m)")
            let padding = (0..<m).flatMap { row in (fixture.n..<ldc).map { results[0][row * ldc + $0] } }
            #expect(padding.allSatisfy { $0 == -7 }, "\(label) wrote outside its columns")
            #expect(results[1] == results[0] && results[2] == results[0], "\(label): thread counts disagree")
        }
    }

    @Test("multiplyTransposed with leading dimensions, m = 1, 4 and 67, 1–3 threads")
    func multiplyTransposed() throws {
        let fixture = try #require(Self.index?.multiplyTransposed.first)
        try checkProduct(fixture, "A·Bᵀ") { a, b, c, ldc, m, pool in
            MatrixMultiply.multiplyTransposed(a, lda: fixture.lda, b, ldb: fixture.ldb, into: c, ldc: ldc,
                                              m: m, n: fixture.n, k: fixture.k, pool: pool)
        }
    }

    @Test("multiply with leading dimensions, m = 1, 4 and 67, 1–3 threads")
    func multiply() throws {
        let fixture = try #require(Self.index?.multiply.first)
        try checkProduct(fixture, "A·B") { a, b, c, ldc, m, pool in
            MatrixMultiply.multiply(a, lda: fixture.lda, b, ldb: fixture.ldb, into: c, ldc: ldc,
                                    m: m, n: fixture.n, k: fixture.k, pool: pool)
        }
    }

    @Test("decode-time dots read every finite F16/BF16 bit pattern exactly", arguments: [DType.f16, .bf16])
    func everyHalfPattern(dtype: DType) throws {
        // 1024 rows × 64 columns hold all 65536 patterns; non-finite ones become 0 (0 · inf
        // would turn the one-hot products into NaN). A one-hot x picks column c of every row.
        let columns = 64, rows = 1024
        let patterns: [UInt16] = (0..<(rows * columns)).map { index in
            let bits = UInt16(index)
            let value = dtype == .f16 ? Float16Bits.toFloat(bits) : BFloat16Bits.toFloat(bits)
            return value.isFinite ? bits : 0
        }
        let raw = patterns.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8($0 >> 8)] }
        try raw.withUnsafeBytes { bytes in
            let weight = try WeightMatrix(rows: rows, columns: columns, dtype: dtype, data: bytes, owner: nil)
            var mismatches = 0
            for c in 0..<columns {
                var x = [Float](repeating: 0, count: columns)
                x[c] = 1
                var y = [Float](repeating: .nan, count: rows)
                x.withUnsafeBufferPointer { x in y.withUnsafeMutableBufferPointer { y in
                    MatrixMultiply.linear(x.baseAddress!, count: 1, weight: weight, bias: nil, into: y.baseAddress!)
                } }
                for r in 0..<rows {
                    let bits = patterns[r * columns + c]
                    let expected = dtype == .f16 ? Float16Bits.toFloat(bits) : BFloat16Bits.toFloat(bits)
                    if y[r] != expected { mismatches += 1 }
                }
            }
            #expect(mismatches == 0)
        }
    }

    /// `linear` with F32/F16/BF16 weights on shapes the fixtures do not reach, through every
    /// runnable kernel variant: depths below 16, not a multiple of 8, 16 or 256 and past one k
    /// block; rows not a multiple of the 32-column panel; ≥ 5 input rows (the blocked GEMM) with
    /// edge tiles. Reference: float64 sums of the weights widened by definition (Swift's Float16,
    /// the upper half of an F32 for BF16) times x, plus bias; tolerance 1e-5·Σ|w·x| + 1e-5·|bias|
    /// (one wrong element moves a result by ~Σ|w·x|/k, above it for every k here). Thread counts
    /// 1–3 give identical bits.
    @Test("linear with F32/F16/BF16 weights on odd shapes, every variant, against float64",
          arguments: [DType.f32, .f16, .bf16])
    func floatLinearOddShapes(dtype: DType) throws {
        var generator = SplitMix64(seed: 5)
        for (rows, columns, count) in [(1, 5, 7), (33, 13, 6), (70, 300, 13), (37, 517, 29), (65, 1, 5)] {
            let values = (0..<(rows * columns)).map { _ in Float.random(in: -1..<1, using: &generator) }
            let raw: [UInt8] = values.flatMap { value -> [UInt8] in
                switch dtype {
                case .f32: return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: value.bitPattern >> $0) }
                case .f16: let bits = Float16(value).bitPattern; return [UInt8(truncatingIfNeeded: bits), UInt8(bits >> 8)]
                default: return [UInt8(truncatingIfNeeded: value.bitPattern >> 16), UInt8(value.bitPattern >> 24)]
                }
            }
            let w = (0..<(rows * columns)).map { WeightTypeTests.widened(raw, dtype, $0) }
            let x = (0..<(count * columns)).map { _ in Float.random(in: -1..<1, using: &generator) }
            let bias = (0..<rows).map { _ in Float.random(in: -1..<1, using: &generator) }
            var reference = [Double](repeating: 0, count: count * rows), magnitude = reference
            for i in 0..<count {
                for r in 0..<rows {
                    for c in 0..<columns {
                        let product = Double(w[r * columns + c]) * Double(x[i * columns + c])
                        reference[i * rows + r] += product
                        magnitude[i * rows + r] += abs(product)
                    }
                    reference[i * rows + r] += Double(bias[r])
                    magnitude[i * rows + r] += abs(Double(bias[r]))
                }
            }
            try raw.withUnsafeBytes { bytes in
                let weight = try WeightMatrix(rows: rows, columns: columns, dtype: dtype, data: bytes, owner: nil)
                for kernels in KernelSet.runnable {
                    var results: [[Float]] = []
                    for pool in Self.pools {
                        var y = [Float](repeating: .nan, count: count * rows)
                        x.withUnsafeBufferPointer { xs in bias.withUnsafeBufferPointer { b in y.withUnsafeMutableBufferPointer { out in
                            MatrixMultiply.linear(xs.baseAddress!, count: count, weight: weight, bias: b.baseAddress!, into: out.baseAddress!,
                                                  pool: pool, kernels: kernels)
                        } } }
                        results.append(y)
                    }
                    var worst = 0.0
                    for index in 0..<(count * rows) {
                        let excess = abs(Double(results[0][index]) - reference[index]) / (1e-5 * magnitude[index] + 1e-30)
                        worst = max(worst, excess.isNaN ? .infinity : excess)
                    }
                    let label = "\(kernels.name) \(dtype.name) \(rows)×\(columns) count \(count)"
                    #expect(worst <= 1, "\(label): worst \(worst)× the tolerance")
                    #expect(results[1] == results[0] && results[2] == results[0], "\(label): thread counts disagree")
                }
            }
        }
    }

    @Test("empty and zero-depth products")
    func degenerate() throws {
        var c: [Float] = [5, 5, 5, 5]
        let a: [Float] = [1, 2], b: [Float] = [3, 4]
        c.withUnsafeMutableBufferPointer { c in
            MatrixMultiply.multiplyTransposed(a, lda: 1, b, ldb: 1, into: c.baseAddress!, ldc: 2, m: 2, n: 2, k: 0)
        }
        #expect(c == [0, 0, 0, 0])
        let weight = WeightMatrix(rows: 2, columns: 0, values: [])
        let bias: [Float] = [1.5, -2]
        var y: [Float] = [9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]
        for count in [1, 7] {
            y.withUnsafeMutableBufferPointer { y in
                MatrixMultiply.linear(a, count: count, weight: weight, bias: bias, into: y.baseAddress!)
            }
            #expect(Array(y[0..<(2 * count)]) == Array(repeating: bias, count: count).flatMap { $0 })
        }
    }
}

extension MatrixMultiplyTests.Index.Linear: CustomTestStringConvertible {
    var testDescription: String { "\(dtype) \(rows)×\(columns)" }
}
