/// Converts tensor bytes of a float or ggml block-quantized type to float32.
///
/// Results are bit-exact to gguf-py's `gguf.quants.dequantize` (numpy float32 arithmetic with
/// the same operation order, e.g. Q4_K is `(d·sc)·q − dmin·m`); F64 rounds to nearest and Q8_1 /
/// Q8_K (which gguf-py lacks) are `q·d`. Supported: F32, F16, BF16, F64, Q4_0, Q4_1, Q5_0, Q5_1,
/// Q8_0, Q8_1, Q2_K–Q8_K, IQ4_NL, IQ4_XS, TQ1_0, TQ2_0 and MXFP4. Large inputs are split over all
/// cores.
public enum Dequantizer {
    typealias Kernel = (_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) -> Void

    /// Whether `type` can be converted by `toFloat32`.
    public static func supports(_ type: DType) -> Bool { kernel(for: type) != nil }

    /// Decodes `source`, holding exactly `destination.count` elements of `type`, into `destination`.
    ///
    /// Throws without writing anything when the type is unsupported, the element count is not a
    /// whole number of blocks or `source` has the wrong size.
    public static func toFloat32(
        _ source: UnsafeRawBufferPointer, type: DType, into destination: UnsafeMutableBufferPointer<Float>
    ) throws(ConversionError) {
        guard let kernel = kernel(for: type) else { throw .unsupported(type) }
        let elements = destination.count
        let blockElements = type.blockElements
        guard elements % blockElements == 0 else { throw .partialBlock(type: type, elements: elements) }
        guard let expected = type.byteCount(elements: elements) else {
            throw .partialBlock(type: type, elements: elements)
        }
        guard source.count == expected else { throw .sizeMismatch(expected: expected, actual: source.count) }
        guard elements > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        let bytesPerBlock = type.blockBits / 8
        let bytes = input.assumingMemoryBound(to: UInt8.self)
        ThreadPool.shared.parallelRanges(elements / blockElements, bytesPerItem: bytesPerBlock + 4 * blockElements) { range in
            kernel(bytes + range.lowerBound * bytesPerBlock, output + range.lowerBound * blockElements, range.count)
        }
    }

    /// The weight type's decoder, or one of the types that only convert (F64, Q8_1, TQ1_0,
    /// TQ2_0, MXFP4).
    static func kernel(for type: DType) -> Kernel? {
        if let weightType = WeightTypes.type(of: type) { return weightType.decode }
        switch type {
        case .f64: return f64
        case .q8_1: return q8_1
        case .tq1_0: return tq1_0
        case .tq2_0: return tq2_0
        case .mxfp4: return mxfp4
        default: return nil
        }
    }

    /// MXFP4 E2M1 levels, doubled.
    static let mxfp4Levels: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

    static func f64(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        let raw = UnsafeRawPointer(source)
        for index in 0..<count {
            let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            destination[index] = Float(Double(bitPattern: bits))
        }
    }

    // MARK: - 32-element blocks

    static func q8_1(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 36 * block, y = destination + 32 * block
            let d = BlockBytes.half(b, 0)
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[4 + j])) * d }
        }
    }

    static func mxfp4(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        mxfp4Levels.withUnsafeBufferPointer { levels in
            for block in 0..<blocks {
                let b = source + 17 * block, y = destination + 32 * block
                // ggml_e8m0_to_fp32_half: 2^(e-128) as a bit pattern.
                let e = UInt32(b[0])
                let d = Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << e : (e - 1) << 23)
                for j in 0..<16 {
                    let q = b[1 + j]
                    y[j] = d * Float(levels[Int(q & 0x0f)])
                    y[j + 16] = d * Float(levels[Int(q >> 4)])
                }
            }
        }
    }

    // MARK: - 256-element super-blocks

    static func tq1_0(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        let powers: (UInt8, UInt8, UInt8, UInt8, UInt8) = (1, 3, 9, 27, 81)
        @inline(__always) func power(_ n: Int) -> UInt8 {
            switch n { case 0: powers.0; case 1: powers.1; case 2: powers.2; case 3: powers.3; default: powers.4 }
        }
        @inline(__always) func ternary(_ byte: UInt8, _ n: Int) -> Float {
            let shifted = byte &* power(n)
            return Float(Int8((UInt16(shifted) &* 3) >> 8) - 1)
        }
        for block in 0..<blocks {
            let b = source + 54 * block, y = destination + 256 * block
            let d = BlockBytes.half(b, 52)
            var out = 0
            for n in 0..<5 {
                for m in 0..<32 { y[out + m] = d * ternary(b[m], n) }
                out += 32
            }
            for n in 0..<5 {
                for m in 0..<16 { y[out + m] = d * ternary(b[32 + m], n) }
                out += 16
            }
            for n in 0..<4 {
                for j in 0..<4 { y[out + j] = d * ternary(b[48 + j], n) }
                out += 4
            }
        }
    }

    static func tq2_0(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 66 * block, y = destination + 256 * block
            let d = BlockBytes.half(b, 64)
            for half in 0..<2 {
                for shift in 0..<4 {
                    let out = y + 128 * half + 32 * shift
                    let q = b + 32 * half
                    for m in 0..<32 {
                        out[m] = d * Float(Int8((q[m] >> UInt8(2 * shift)) & 3) - 1)
                    }
                }
            }
        }
    }
}
