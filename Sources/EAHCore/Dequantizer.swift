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
        ParallelBlocks.run(blocks: elements / blockElements, bytesPerBlock: bytesPerBlock + 4 * blockElements) { range in
            kernel(bytes + range.lowerBound * bytesPerBlock, output + range.lowerBound * blockElements, range.count)
        }
    }

    static func kernel(for type: DType) -> Kernel? {
        switch type {
        case .f32: f32
        case .f16: f16
        case .bf16: bf16
        case .f64: f64
        case .q4_0: q4_0
        case .q4_1: q4_1
        case .q5_0: q5_0
        case .q5_1: q5_1
        case .q8_0: q8_0
        case .q8_1: q8_1
        case .q2_K: q2_K
        case .q3_K: q3_K
        case .q4_K: q4_K
        case .q5_K: q5_K
        case .q6_K: q6_K
        case .q8_K: q8_K
        case .iq4_NL: iq4_NL
        case .iq4_XS: iq4_XS
        case .tq1_0: tq1_0
        case .tq2_0: tq2_0
        case .mxfp4: mxfp4
        default: nil
        }
    }

    // MARK: - Helpers

    @inline(__always)
    static func half(_ block: UnsafePointer<UInt8>, _ offset: Int) -> Float {
        Float16Bits.toFloat(UInt16(block[offset]) | UInt16(block[offset + 1]) << 8)
    }

    @inline(__always)
    static func u32(_ block: UnsafePointer<UInt8>, _ offset: Int) -> UInt32 {
        UInt32(block[offset]) | UInt32(block[offset + 1]) << 8 | UInt32(block[offset + 2]) << 16 | UInt32(block[offset + 3]) << 24
    }

    /// IQ4_NL / IQ4_XS non-linear 4-bit levels.
    static let iq4Levels: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]
    /// MXFP4 E2M1 levels, doubled.
    static let mxfp4Levels: [Int8] = [0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12]

    /// Q4_K / Q5_K 6-bit scales and mins of the 8 sub-blocks (gguf-py's `get_scale_min`).
    @inline(__always)
    static func scaleMin(_ scales: UnsafePointer<UInt8>, _ index: Int) -> (scale: UInt8, min: UInt8) {
        if index < 4 {
            return (scales[index] & 63, scales[index + 4] & 63)
        }
        let scale = (scales[index + 4] & 0x0f) | ((scales[index - 4] >> 2) & 0x30)
        let minimum = (scales[index + 4] >> 4) | ((scales[index] >> 2) & 0x30)
        return (scale, minimum)
    }

    // MARK: - Plain types (a block is one element)

    static func f32(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
    }

    static func f16(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count { destination[index] = half(source, 2 * index) }
    }

    static func bf16(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        for index in 0..<count {
            destination[index] = BFloat16Bits.toFloat(UInt16(source[2 * index]) | UInt16(source[2 * index + 1]) << 8)
        }
    }

    static func f64(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
        let raw = UnsafeRawPointer(source)
        for index in 0..<count {
            let bits = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * index, as: UInt64.self))
            destination[index] = Float(Double(bitPattern: bits))
        }
    }

    // MARK: - 32-element blocks

    static func q4_0(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 18 * block, y = destination + 32 * block
            let d = half(b, 0)
            for j in 0..<16 {
                let q = b[2 + j]
                y[j] = d * Float(Int8(q & 0x0f) - 8)
                y[j + 16] = d * Float(Int8(q >> 4) - 8)
            }
        }
    }

    static func q4_1(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 20 * block, y = destination + 32 * block
            let d = half(b, 0), m = half(b, 2)
            for j in 0..<16 {
                let q = b[4 + j]
                y[j] = d * Float(q & 0x0f) + m
                y[j + 16] = d * Float(q >> 4) + m
            }
        }
    }

    static func q5_0(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 22 * block, y = destination + 32 * block
            let d = half(b, 0)
            let h = u32(b, 2)
            for j in 0..<16 {
                let q = b[6 + j]
                let low = Int8(q & 0x0f) | Int8(truncatingIfNeeded: ((h >> UInt32(j)) & 1) << 4)
                let high = Int8(q >> 4) | Int8(truncatingIfNeeded: ((h >> UInt32(j + 16)) & 1) << 4)
                y[j] = d * Float(low - 16)
                y[j + 16] = d * Float(high - 16)
            }
        }
    }

    static func q5_1(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 24 * block, y = destination + 32 * block
            let d = half(b, 0), m = half(b, 2)
            let h = u32(b, 4)
            for j in 0..<16 {
                let q = b[8 + j]
                let low = UInt8(q & 0x0f) | UInt8(truncatingIfNeeded: ((h >> UInt32(j)) & 1) << 4)
                let high = UInt8(q >> 4) | UInt8(truncatingIfNeeded: ((h >> UInt32(j + 16)) & 1) << 4)
                y[j] = d * Float(low) + m
                y[j + 16] = d * Float(high) + m
            }
        }
    }

    static func q8_0(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 34 * block, y = destination + 32 * block
            let d = half(b, 0)
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[2 + j])) * d }
        }
    }

    static func q8_1(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 36 * block, y = destination + 32 * block
            let d = half(b, 0)
            for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[4 + j])) * d }
        }
    }

    static func iq4_NL(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        iq4Levels.withUnsafeBufferPointer { levels in
            for block in 0..<blocks {
                let b = source + 18 * block, y = destination + 32 * block
                let d = half(b, 0)
                for j in 0..<16 {
                    let q = b[2 + j]
                    y[j] = d * Float(levels[Int(q & 0x0f)])
                    y[j + 16] = d * Float(levels[Int(q >> 4)])
                }
            }
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

    static func q2_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 84 * block, y = destination + 256 * block
            let d = half(b, 80), dmin = half(b, 82)
            let qs = b + 16
            for half in 0..<2 {
                for shift in 0..<4 {
                    for group in 0..<2 {
                        let sub = 8 * half + 2 * shift + group
                        let scale = b[sub]
                        let dl = d * Float(scale & 0x0f)
                        let ml = dmin * Float(scale >> 4)
                        let out = y + 16 * sub
                        let q = qs + 32 * half + 16 * group
                        for l in 0..<16 {
                            out[l] = dl * Float((q[l] >> UInt8(2 * shift)) & 3) - ml
                        }
                    }
                }
            }
        }
    }

    static func q3_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 110 * block, y = destination + 256 * block
            let hmask = b, qs = b + 32, scales = b + 96
            let d = half(b, 108)
            for sub in 0..<16 {
                let low = sub < 8 ? scales[sub] & 0x0f : scales[sub - 8] >> 4
                let high = (scales[8 + sub % 4] >> UInt8(2 * (sub / 4))) & 3
                let scale = Int8(bitPattern: low | (high << 4)) &- 32
                let dl = d * Float(scale)
                // Element e = 128·half + 32·shift + l; sub-block = e / 16.
                let half = sub / 8, shift = (sub % 8) / 2, offset = 16 * (sub % 2)
                let maskBit = UInt8(4 * half + shift)
                let out = y + 16 * sub
                let q = qs + 32 * half + offset
                let h = hmask + offset
                for l in 0..<16 {
                    let low2 = Int8((q[l] >> UInt8(2 * shift)) & 3)
                    let missing = Int8(((h[l] >> maskBit) & 1) ^ 1) << 2
                    out[l] = dl * Float(low2 - missing)
                }
            }
        }
    }

    static func q4_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 144 * block, y = destination + 256 * block
            let d = half(b, 0), dmin = half(b, 2)
            let scales = b + 4, qs = b + 16
            for sub in 0..<8 {
                let (scale, minimum) = scaleMin(scales, sub)
                let dl = d * Float(scale)
                let ml = dmin * Float(minimum)
                let q = qs + 32 * (sub / 2)
                let shift = UInt8(4 * (sub % 2))
                let out = y + 32 * sub
                for l in 0..<32 {
                    out[l] = dl * Float((q[l] >> shift) & 0x0f) - ml
                }
            }
        }
    }

    static func q5_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 176 * block, y = destination + 256 * block
            let d = half(b, 0), dmin = half(b, 2)
            let scales = b + 4, qh = b + 16, qs = b + 48
            for sub in 0..<8 {
                let (scale, minimum) = scaleMin(scales, sub)
                let dl = d * Float(scale)
                let ml = dmin * Float(minimum)
                let q = qs + 32 * (sub / 2)
                let shift = UInt8(4 * (sub % 2))
                let bit = UInt8(sub)
                let out = y + 32 * sub
                for l in 0..<32 {
                    let value = ((q[l] >> shift) & 0x0f) | (((qh[l] >> bit) & 1) << 4)
                    out[l] = dl * Float(value) - ml
                }
            }
        }
    }

    static func q6_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 210 * block, y = destination + 256 * block
            let ql = b, qh = b + 128, scales = b + 192
            let d = half(b, 208)
            for sub in 0..<16 {
                let dl = d * Float(Int8(bitPattern: scales[sub]))
                // Element e = 128·half + i: low nibble of ql[64·half + i%64] shifted by 4·(i/64),
                // high bits of qh[32·half + i%32] shifted by 2·(i/32).
                let half = sub / 8, first = 16 * (sub % 8)
                let lowShift = UInt8(4 * (first / 64)), highShift = UInt8(2 * (first / 32))
                let low = ql + 64 * half + first % 64
                let high = qh + 32 * half + first % 32
                let out = y + 16 * sub
                for l in 0..<16 {
                    let value = ((low[l] >> lowShift) & 0x0f) | (((high[l] >> highShift) & 3) << 4)
                    out[l] = dl * Float(Int8(value) - 32)
                }
            }
        }
    }

    static func q8_K(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        for block in 0..<blocks {
            let b = source + 292 * block, y = destination + 256 * block
            let d = Float(bitPattern: u32(b, 0))
            for j in 0..<256 { y[j] = Float(Int8(bitPattern: b[4 + j])) * d }
        }
    }

    static func iq4_XS(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
        iq4Levels.withUnsafeBufferPointer { levels in
            for block in 0..<blocks {
                let b = source + 136 * block, y = destination + 256 * block
                let d = half(b, 0)
                let scalesHigh = UInt16(b[2]) | UInt16(b[3]) << 8
                let scalesLow = b + 4, qs = b + 8
                for sub in 0..<8 {
                    let low = (scalesLow[sub / 2] >> UInt8(4 * (sub % 2))) & 0x0f
                    let high = UInt8(truncatingIfNeeded: scalesHigh >> UInt16(2 * sub)) & 3
                    let scale = Int8(bitPattern: low | (high << 4)) &- 32
                    let dl = d * Float(scale)
                    let q = qs + 16 * sub, out = y + 32 * sub
                    for j in 0..<16 {
                        out[j] = dl * Float(levels[Int(q[j] & 0x0f)])
                        out[j + 16] = dl * Float(levels[Int(q[j] >> 4)])
                    }
                }
            }
        }
    }

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
            let d = half(b, 52)
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
            let d = half(b, 64)
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
