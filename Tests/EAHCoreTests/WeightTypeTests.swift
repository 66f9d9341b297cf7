import CEAHKernels
@testable import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Every weight type's products against gguf-py (fixtures from tools/make_kernel_fixtures.py),
/// and every kernel variant this CPU can run against the portable one.
///
/// Reference: `y = x · Wᵀ` in float64 with W as gguf-py dequantizes it. Quantized types multiply
/// activations quantized to Q8_0/Q8_K (as llama.cpp does), so the test adds the exact effect of
/// that rounding, `Σ_c w_c·(x′_c − x_c)` with x′ the decoded activations, and checks it separately
/// against its bound (`|x′ − x| ≤ d/2` per element, plus the F16 rounding of d for Q8_0).
/// Tolerances on what remains (float32 rounding): 1e-5·Σ|w·x′| for F32/F16/BF16 and 1e-4·Σ|w·x′|
/// for quantized types (several roundings per block, scale and min terms that cancel). One wrong
/// element moves a result by about Σ|w·x′|/k ≥ 2e-3·Σ|w·x′|, 20× the larger tolerance.
@Suite struct WeightTypeTests {
    struct Case: Decodable, CustomTestStringConvertible, Sendable {
        let dtype: String, rows: Int, columns: Int, count: Int
        var testDescription: String { dtype }
    }

    static let cases: [Case] = {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kernels/index.json"))) else { return [] }
        return (try? JSONDecoder().decode([Case].self, from: data)) ?? []
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("kernels/" + name))))
    }

    static func floats(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return stride(from: 0, to: raw.count, by: 4).map { offset in
            Float(bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
        }
    }

    static func halves(_ name: String) throws -> [Float] {
        let raw = try bytes(name)
        return stride(from: 0, to: raw.count, by: 2).map { Float16Bits.toFloat(UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8) }
    }

    static func decode(_ bytes: [UInt8], _ type: DType, count: Int) throws -> [Float] {
        var output = [Float](repeating: .nan, count: count)
        let result: Result<Void, ConversionError> = bytes.withUnsafeBytes { raw in
            output.withUnsafeMutableBufferPointer { destination in
                Result { () throws(ConversionError) in try Dequantizer.toFloat32(raw, type: type, into: destination) }
            }
        }
        try result.get()
        return output
    }

    /// The activations a product with `type` multiplies: `x` quantized by `kernels` and decoded
    /// (x itself for F32-partner types), row by row.
    static func activations(_ x: [Float], columns: Int, for type: any WeightType.Type, kernels: KernelSet = .active) throws -> (bytes: [UInt8], values: [Float]) {
        let format = type.activation
        let rowBytes = format.rowBytes(columns), rows = x.count / columns
        var quantized = [UInt8](repeating: 0, count: rows * rowBytes)
        x.withUnsafeBufferPointer { xs in
            quantized.withUnsafeMutableBytes { out in
                for i in 0..<rows {
                    kernels.quantize(xs.baseAddress! + i * columns, columns: columns, to: format, into: out.baseAddress! + i * rowBytes)
                }
            }
        }
        switch format {
        case .f32: return (quantized, x)
        case .q8_0: return (quantized, try decode(quantized, .q8_0, count: x.count))
        case .q8_K: return (quantized, try decode(quantized, .q8_K, count: x.count))
        }
    }

    /// Checks `actual` (count × rows) against gguf-py's float64 product plus the activation
    /// rounding, returning a message for the worst failure (nil when all pass).
    static func check(_ actual: [Float], reference: [Float], x: [Float], decodedX: [Float], w: [Float],
                      rows: Int, columns: Int, count: Int, quantized: Bool) -> String? {
        var failures = 0, worst = 0.0
        for i in 0..<count {
            for r in 0..<rows {
                var shift = 0.0, magnitude = 0.0
                for c in 0..<columns {
                    let wv = Double(w[r * columns + c]), xv = Double(x[i * columns + c]), qv = Double(decodedX[i * columns + c])
                    shift += wv * (qv - xv)
                    magnitude += abs(wv * qv)
                }
                let expected = Double(reference[i * rows + r]) + shift
                let tolerance = (quantized ? 1e-4 : 1e-5) * magnitude + 1e-30
                let excess = abs(Double(actual[i * rows + r]) - expected) / tolerance
                if !(excess <= 1) { failures += 1 }
                worst = max(worst, excess.isNaN ? .infinity : excess)
            }
        }
        return failures == 0 ? nil : "\(failures) of \(count * rows) outside tolerance (worst \(worst)× the bound)"
    }

    @Test("every type in the registry agrees with DType and has a kernel in every variant")
    func registry() {
        #expect(WeightTypes.all.count == 16)
        for type in WeightTypes.all {
            #expect(type.blockElements == type.dtype.blockElements, "\(type.dtype.name) block elements")
            #expect(type.blockBytes * 8 == type.dtype.blockBits, "\(type.dtype.name) block bytes")
            let expected: ActivationFormat = type.blockElements == 1 ? .f32 : type.blockElements == 32 ? .q8_0 : .q8_K
            #expect(type.activation == expected, "\(type.dtype.name) partner format")
            for kernels in KernelSet.runnable { #expect(kernels.dot(type) != nil, "\(kernels.name) lacks \(type.dtype.name)") }
            #expect(MatrixMultiply.hasKernel(for: type.dtype))
        }
        #expect(!MatrixMultiply.hasKernel(for: .tq1_0) && !MatrixMultiply.hasKernel(for: .f64))
        #expect(KernelSet.runnable.first?.name == "portable")
        #expect(KernelSet.runnable.contains { $0.name == KernelSet.active.name })
    }

    @Test("linear against gguf-py's dequantization and a float64 product, m = 1, 2, 5, 97, 1–3 threads", arguments: cases)
    func linearMatchesReference(_ fixture: Case) throws {
        let dtype = try #require(DType(rawValue: fixture.dtype))
        let type = try #require(WeightTypes.type(of: dtype))
        let raw = try Self.bytes("w_\(fixture.dtype).bin")
        let reference = try Self.floats("y_\(fixture.dtype).f32")
        let x = try Self.halves("x_\(fixture.columns).f16")
        let w = try Self.decode(raw, dtype, count: fixture.rows * fixture.columns)
        let (_, decodedX) = try Self.activations(x, columns: fixture.columns, for: type)
        let pools = [ThreadPool(threadCount: 1), ThreadPool(threadCount: 2), ThreadPool(threadCount: 3)]
        try raw.withUnsafeBytes { weightBytes in
            let weight = try WeightMatrix(rows: fixture.rows, columns: fixture.columns, dtype: dtype, data: weightBytes, owner: nil)
            for count in [1, 2, 5, fixture.count] {
                var results: [[Float]] = []
                for pool in pools {
                    var y = [Float](repeating: .nan, count: count * fixture.rows)
                    x.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { out in
                        MatrixMultiply.linear(xs.baseAddress!, count: count, weight: weight, bias: nil, into: out.baseAddress!, pool: pool)
                    } }
                    results.append(y)
                }
                let failure = Self.check(results[0], reference: reference, x: x, decodedX: decodedX, w: w,
                                         rows: fixture.rows, columns: fixture.columns, count: count, quantized: type.activation != .f32)
                #expect(failure == nil, "\(fixture.dtype) m \(count): \(failure ?? "")")
                #expect(results[1] == results[0] && results[2] == results[0], "\(fixture.dtype) m \(count): thread counts disagree")
            }
        }
    }

    @Test("quantized activations stay within half a step of the input and carry their block sums", arguments: [ActivationFormat.q8_0, .q8_K])
    func activationRounding(_ format: ActivationFormat) throws {
        let x = try Self.halves("x_512.f16")
        let type: any WeightType.Type = format == .q8_0 ? WeightTypes.Q8_0.self : WeightTypes.Q8_K.self
        let block = type.blockElements
        let (bytes, decoded) = try Self.activations(x, columns: 512, for: type)
        for start in stride(from: 0, to: x.count, by: block) {
            let amax = x[start..<(start + block)].map { abs($0) }.max() ?? 0
            let d = Double(amax) / 127
            // Q8_0 stores d as F16: each of the ≤ 127 steps is off by the rounding of d. The
            // float32 roundings of x/d and q·d add at most 128 ulps of d (1.6e-5·d).
            let stored = format == .q8_0 ? Double(Float16Bits.toFloat(Float16Bits.fromFloat(Float(d)))) : d
            let bound = d * (0.5 + 1.6e-5) + abs(stored - d) * 127
            for c in start..<(start + block) {
                #expect(abs(Double(decoded[c]) - Double(x[c])) <= bound, "element \(c): \(decoded[c]) vs \(x[c])")
            }
        }
        if format == .q8_K {
            for b in 0..<(bytes.count / 292) {
                for s in 0..<16 {
                    let base = 292 * b
                    let sum = (0..<16).reduce(0) { $0 + Int(Int8(bitPattern: bytes[base + 4 + 16 * s + $1])) }
                    let stored = Int(Int16(bitPattern: UInt16(bytes[base + 260 + 2 * s]) | UInt16(bytes[base + 261 + 2 * s]) << 8))
                    #expect(stored == sum, "block \(b) sum \(s)")
                }
            }
        }
    }

    @Test("every runnable kernel variant agrees with the portable one", arguments: cases)
    func variantsMatchPortable(_ fixture: Case) throws {
        let dtype = try #require(DType(rawValue: fixture.dtype))
        let type = try #require(WeightTypes.type(of: dtype))
        let raw = try Self.bytes("w_\(fixture.dtype).bin")
        let x = try Self.halves("x_\(fixture.columns).f16")
        let variants = KernelSet.runnable
        let portable = variants[0]
        let (portableActivations, decodedX) = try Self.activations(x, columns: fixture.columns, for: type, kernels: portable)
        let w = try Self.decode(raw, dtype, count: fixture.rows * fixture.columns)
        let activationBytes = type.activation.rowBytes(fixture.columns), rowBytes = raw.count / fixture.rows
        // Σ_c |w_rc · x′_ic|, the scale of each product's float rounding.
        var magnitudes = [Double](repeating: 0, count: fixture.count * fixture.rows)
        for i in 0..<fixture.count {
            for r in 0..<fixture.rows {
                for c in 0..<fixture.columns {
                    magnitudes[i * fixture.rows + r] += abs(Double(w[r * fixture.columns + c]) * Double(decodedX[i * fixture.columns + c]))
                }
            }
        }
        for variant in variants.dropFirst() {
            // Activation quantization is integer work: bit-exact.
            let (activations, _) = try Self.activations(x, columns: fixture.columns, for: type, kernels: variant)
            #expect(activations == portableActivations, "\(variant.name) quantizes \(fixture.dtype)'s activations differently")
            let reference = try #require(portable.dot(type)), dot = try #require(variant.dot(type))
            var worst = 0.0
            raw.withUnsafeBytes { weights in portableActivations.withUnsafeBytes { acts in
                for i in 0..<fixture.count {
                    for r in 0..<fixture.rows {
                        let wRow = weights.baseAddress! + r * rowBytes, xRow = acts.baseAddress! + i * activationBytes
                        let a = dot(Int32(fixture.columns), wRow, xRow), b = reference(Int32(fixture.columns), wRow, xRow)
                        worst = max(worst, abs(Double(a) - Double(b)) / (1e-5 * magnitudes[i * fixture.rows + r] + 1e-30))
                    }
                }
            } }
            #expect(worst <= 1, "\(variant.name) \(fixture.dtype): worst \(worst)× the tolerance 1e-5·Σ|w·x|")
            // The four-row kernel, where the variant has one, against four single-row products.
            if let dot4 = variant.dot4(type) {
                var worst4 = 0.0
                raw.withUnsafeBytes { weights in portableActivations.withUnsafeBytes { acts in
                    var sums = [Float](repeating: .nan, count: 4)
                    for i in stride(from: 0, to: fixture.count - 3, by: 4) {
                        for r in 0..<fixture.rows {
                            let wRow = weights.baseAddress! + r * rowBytes
                            dot4(Int32(fixture.columns), wRow, acts.baseAddress! + i * activationBytes, activationBytes, &sums)
                            for a in 0..<4 {
                                let single = reference(Int32(fixture.columns), wRow, acts.baseAddress! + (i + a) * activationBytes)
                                worst4 = max(worst4, abs(Double(sums[a]) - Double(single)) / (1e-5 * magnitudes[(i + a) * fixture.rows + r] + 1e-30))
                            }
                        }
                    }
                } }
                #expect(worst4 <= 1, "\(variant.name) \(fixture.dtype) four-row kernel: worst \(worst4)× the tolerance")
            }
        }
    }

    /// The packed-panel products (prefill) against the portable one-row kernel: 37 weight rows
    /// (two whole 16-row panels and one of 5), 288 columns (an odd number of 32-element blocks)
    /// or 512, and 1, 5, 8, 13 and 97 activation rows (kernel widths 8 and 1–7). The panel
    /// activations must carry the partner format's quants and scales bit-exactly; the integer
    /// sums per block are exact, so what differs is float summation order: 1e-5·Σ|w·x′|, as for
    /// the one-row variants. A panel shorter than 16 rows writes only its own rows. The panel-format
    /// row products (decode), where a variant has them, are held to the same bound.
    @Test("every runnable panel product agrees with the portable one-row kernel", arguments: cases)
    func panelsMatchPortable(_ fixture: Case) throws {
        let dtype = try #require(DType(rawValue: fixture.dtype))
        let type = try #require(WeightTypes.type(of: dtype))
        let raw = try Self.bytes("w_\(fixture.dtype).bin")
        let x = try Self.halves("x_\(fixture.columns).f16")
        let portable = KernelSet.runnable[0]
        let (partner, decodedX) = try Self.activations(x, columns: fixture.columns, for: type, kernels: portable)
        let w = try Self.decode(raw, dtype, count: fixture.rows * fixture.columns)
        let columns = fixture.columns, rows = fixture.rows, partnerBytes = type.activation.rowBytes(columns), rowBytes = raw.count / rows
        let reference = try #require(portable.dot(type))
        for variant in KernelSet.runnable {
            guard let panel = variant.panel(type) else { continue }
            let activationBytes = eah_panel_activation_bytes(Int32(columns))
            var activations = [UInt8](repeating: 0, count: fixture.count * activationBytes)
            x.withUnsafeBufferPointer { xs in activations.withUnsafeMutableBytes { out in
                for i in 0..<fixture.count {
                    panel.quantize(xs.baseAddress! + i * columns, out.baseAddress! + i * activationBytes, Int32(columns))
                }
            } }
            // Quants and scales as the partner format's (Q8_0: F16 scale at 0, quants at 2; Q8_K:
            // F32 scale at 0, quants at 4).
            let block = type.activation == .q8_0 ? 32 : 256, blockBytes = type.activation == .q8_0 ? 34 : 292
            let quantOffset = type.activation == .q8_0 ? 2 : 4
            for i in 0..<fixture.count {
                for c in 0..<columns {
                    let expected = partner[i * partnerBytes + c / block * blockBytes + quantOffset + c % block]
                    #expect(activations[i * activationBytes + c] == expected, "\(variant.name) \(fixture.dtype) quant \(i), \(c)")
                }
                for b in 0..<(columns / 32) {
                    let scaleBytes = i * activationBytes + columns + 16 * b
                    let scale = Float(bitPattern: UInt32(activations[scaleBytes]) | UInt32(activations[scaleBytes + 1]) << 8
                                      | UInt32(activations[scaleBytes + 2]) << 16 | UInt32(activations[scaleBytes + 3]) << 24)
                    let p = i * partnerBytes + b * 32 / block * blockBytes
                    let partnerScale = type.activation == .q8_0
                        ? Float16Bits.toFloat(UInt16(partner[p]) | UInt16(partner[p + 1]) << 8)
                        : Float(bitPattern: UInt32(partner[p]) | UInt32(partner[p + 1]) << 8 | UInt32(partner[p + 2]) << 16 | UInt32(partner[p + 3]) << 24)
                    #expect(scale == partnerScale, "\(variant.name) \(fixture.dtype) scale \(i), \(b)")
                }
            }
            if let rowDot = variant.panelDot(type) {
                var worst = 0.0
                raw.withUnsafeBytes { weights in activations.withUnsafeBytes { acts in partner.withUnsafeBytes { partnerActs in
                    for i in 0..<fixture.count {
                        for r in 0..<rows {
                            let actual = rowDot(Int32(columns), weights.baseAddress! + r * rowBytes, acts.baseAddress! + i * activationBytes)
                            let expected = reference(Int32(columns), weights.baseAddress! + r * rowBytes, partnerActs.baseAddress! + i * partnerBytes)
                            var magnitude = 0.0
                            for c in 0..<columns { magnitude += abs(Double(w[r * columns + c]) * Double(decodedX[i * columns + c])) }
                            let excess = abs(Double(actual) - Double(expected)) / (1e-5 * magnitude + 1e-30)
                            worst = max(worst, excess.isNaN ? .infinity : excess)
                        }
                    }
                } } }
                #expect(worst <= 1, "\(variant.name) \(fixture.dtype) panel row product: worst \(worst)× the tolerance 1e-5·Σ|w·x|")
            }
            for count in [1, 5, 8, 13, fixture.count] {
                var y = [Float](repeating: .nan, count: count * rows)
                var worst = 0.0
                raw.withUnsafeBytes { weights in activations.withUnsafeBytes { acts in partner.withUnsafeBytes { partnerActs in
                    y.withUnsafeMutableBufferPointer { out in
                        let scratch = UnsafeMutableRawPointer.allocate(byteCount: eah_panel_scratch_bytes(Int32(columns)), alignment: 64)
                        defer { scratch.deallocate() }
                        for first in stride(from: 0, to: rows, by: 16) {
                            panel.kernel(Int32(columns), weights.baseAddress! + first * rowBytes, rowBytes, Int32(min(16, rows - first)),
                                         acts.baseAddress!, activationBytes, Int32(count), out.baseAddress! + first, rows, scratch)
                        }
                    }
                    for i in 0..<count {
                        for r in 0..<rows {
                            let expected = reference(Int32(columns), weights.baseAddress! + r * rowBytes, partnerActs.baseAddress! + i * partnerBytes)
                            var magnitude = 0.0
                            for c in 0..<columns { magnitude += abs(Double(w[r * columns + c]) * Double(decodedX[i * columns + c])) }
                            let excess = abs(Double(y[i * rows + r]) - Double(expected)) / (1e-5 * magnitude + 1e-30)
                            worst = max(worst, excess.isNaN ? .infinity : excess)
                        }
                    }
                } } }
                #expect(worst <= 1, "\(variant.name) \(fixture.dtype) panel, \(count) rows: worst \(worst)× the tolerance 1e-5·Σ|w·x|")
                // A panel of 5 rows writes those 5 of each output row and nothing else.
                var partial = [Float](repeating: .nan, count: count * rows)
                raw.withUnsafeBytes { weights in activations.withUnsafeBytes { acts in partial.withUnsafeMutableBufferPointer { out in
                    let scratch = UnsafeMutableRawPointer.allocate(byteCount: eah_panel_scratch_bytes(Int32(columns)), alignment: 64)
                    defer { scratch.deallocate() }
                    panel.kernel(Int32(columns), weights.baseAddress!, rowBytes, 5, acts.baseAddress!, activationBytes, Int32(count),
                                 out.baseAddress!, rows, scratch)
                } } }
                for i in 0..<count {
                    #expect((0..<5).allSatisfy { partial[i * rows + $0] == y[i * rows + $0] }, "\(variant.name) \(fixture.dtype) short panel")
                    #expect((5..<rows).allSatisfy { partial[i * rows + $0].isNaN }, "\(variant.name) \(fixture.dtype) short panel wrote past its rows")
                }
            }
        }
    }

    /// Random finite bit patterns of a float weight type, as the bytes of `count` elements
    /// (F32 patterns with an all-ones exponent and F16/BF16 ones with theirs lose one exponent bit).
    static func finiteFloatBytes(_ dtype: DType, count: Int, using generator: inout SplitMix64) -> [UInt8] {
        switch dtype {
        case .f32:
            return (0..<count).flatMap { _ -> [UInt8] in
                var bits = UInt32(truncatingIfNeeded: generator.next())
                if (bits >> 23) & 0xFF == 0xFF { bits &= ~(UInt32(1) << 30) }
                return [0, 8, 16, 24].map { UInt8(truncatingIfNeeded: bits >> $0) }
            }
        default:
            let exponentMask: UInt16 = dtype == .f16 ? 0x7C00 : 0x7F80
            return (0..<count).flatMap { _ -> [UInt8] in
                var bits = UInt16(truncatingIfNeeded: generator.next())
                if bits & exponentMask == exponentMask { bits &= ~UInt16(0x4000) }
                return [UInt8(truncatingIfNeeded: bits), UInt8(bits >> 8)]
            }
        }
    }

    /// Element `index` of float weight bytes, widened by its definition (Swift's Float16 for F16,
    /// the upper half of an F32 for BF16).
    static func widened(_ bytes: [UInt8], _ dtype: DType, _ index: Int) -> Float {
        switch dtype {
        case .f32:
            return Float(bitPattern: (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * index + $1]) << (8 * $1) })
        case .f16:
            return Float(Float16(bitPattern: UInt16(bytes[2 * index]) | UInt16(bytes[2 * index + 1]) << 8))
        default:
            return Float(bitPattern: (UInt32(bytes[2 * index]) | UInt32(bytes[2 * index + 1]) << 8) << 16)
        }
    }

    /// The GEMM micro-panel packers: the portable one against the layout's definition
    /// (`panel[p·32 + j]` = row j's element p widened, zeros past the rows), every runnable
    /// variant against the portable one bit for bit, on rows 1–32 (not multiples of 8 or 16),
    /// depths below, at and past 8, 16 and 256, rows at an odd byte offset and an odd stride, and
    /// with the next-block prefetch on. No packer writes past `32·depth` floats.
    @Test("every runnable GEMM panel packer equals the portable one bit for bit", arguments: [DType.f32, .f16, .bf16])
    func gemmPackersMatchPortable(dtype: DType) throws {
        let type = try #require(WeightTypes.type(of: dtype))
        let size = type.blockBytes
        var generator = SplitMix64(seed: 11)
        let variants = KernelSet.runnable
        let portable = try #require(variants[0].gemmPack(type))
        for depth in [1, 3, 7, 8, 9, 15, 16, 17, 33, 100, 256, 300] {
            let stride = (depth + 3) * size + 2 * size
            let offset = 3 * size
            let bytes = Self.finiteFloatBytes(dtype, count: (offset + 32 * stride) / size + depth + 8, using: &generator)
            for rows in [1, 2, 5, 8, 13, 16, 17, 24, 31, 32] {
                let length = 32 * depth + 16
                var expected = [Float](repeating: -3, count: length)
                bytes.withUnsafeBytes { raw in expected.withUnsafeMutableBufferPointer { out in
                    portable(raw.baseAddress! + offset, stride, Int32(rows), Int32(depth), out.baseAddress!, 0)
                } }
                var definition = [Float](repeating: -3, count: length)
                for p in 0..<depth {
                    for j in 0..<32 { definition[32 * p + j] = j < rows ? Self.widened(bytes, dtype, (offset + j * stride) / size + p) : 0 }
                }
                let wrong = zip(expected, definition).filter { $0.bitPattern != $1.bitPattern }.count
                #expect(wrong == 0, "portable \(dtype.name) rows \(rows) depth \(depth): \(wrong) floats differ from the layout")
                for variant in variants.dropFirst() {
                    let pack = try #require(variant.gemmPack(type), "\(variant.name) lacks a \(dtype.name) packer")
                    var actual = [Float](repeating: -3, count: length)
                    bytes.withUnsafeBytes { raw in actual.withUnsafeMutableBufferPointer { out in
                        pack(raw.baseAddress! + offset, stride, Int32(rows), Int32(depth), out.baseAddress!, depth * size)
                    } }
                    let first = actual.indices.first { actual[$0].bitPattern != expected[$0].bitPattern }
                    #expect(first == nil, "\(variant.name) \(dtype.name) rows \(rows) depth \(depth): first difference at float \(first ?? -1)")
                }
            }
        }
        for variant in variants { #expect(variant.gemmPack(WeightTypes.Q8_0.self) == nil, "\(variant.name) packs Q8_0") }
    }

    @Test("every runnable GEMM tile agrees with the portable one, for each start mode")
    func gemmTilesMatchPortable() {
        var generator = SplitMix64(seed: 7)
        let depth = 300
        let a = (0..<(6 * depth)).map { _ in Float.random(in: -0.5..<0.5, using: &generator) }
        let panel = (0..<(32 * depth)).map { _ in Float.random(in: -0.5..<0.5, using: &generator) }
        let initial = (0..<32).map { Float($0) }
        let variants = KernelSet.runnable
        for start in Int32(0)...2 {
            var outputs: [[Float]] = []
            for variant in variants {
                var c = (0..<(6 * 40)).map { Float($0) * 0.25 }
                a.withUnsafeBufferPointer { a in panel.withUnsafeBufferPointer { p in initial.withUnsafeBufferPointer { ini in c.withUnsafeMutableBufferPointer { c in
                    let base = a.baseAddress!
                    var rows: [UnsafePointer<Float>?] = (0..<6).map { base + $0 * depth }
                    rows.withUnsafeMutableBufferPointer { rows in
                        variant.table.pointee.gemm_tile(rows.baseAddress!, p.baseAddress!, Int32(depth), c.baseAddress!, 40, start, ini.baseAddress!)
                    }
                } } } }
                outputs.append(c)
            }
            for (variant, output) in zip(variants, outputs).dropFirst() {
                let worst = zip(output, outputs[0]).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-3, "\(variant.name) start \(start): max difference \(worst)")
                // Columns 32..<40 of each row are outside the tile and stay untouched.
                #expect((0..<6).allSatisfy { r in (32..<40).allSatisfy { output[r * 40 + $0] == Float(r * 40 + $0) * 0.25 } })
            }
        }
    }
}
