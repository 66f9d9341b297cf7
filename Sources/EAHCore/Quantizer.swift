/// Converts float32 values to tensor bytes of F32, F16, BF16, Q8_0 or Q4_0.
///
/// Bit-exact to gguf-py's `gguf.quants.quantize` (numpy float32 arithmetic): F16 rounds to
/// nearest even with subnormals and overflow to ±inf, BF16 uses `BFloat16Bits.fromFloat`, Q8_0
/// and Q4_0 follow quants.py step by step. Where numpy's float-to-integer cast is undefined (a
/// block whose scale over- or underflows gives NaN or inf quanta) the x86 result is reproduced:
/// the low byte of a 32-bit truncation that yields `Int32.min`, i.e. 0. Large inputs are split
/// over all cores.
public enum Quantizer {
    typealias Kernel = (_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ blocks: Int) -> Void

    /// Whether `type` can be produced by `fromFloat32`.
    public static func supports(_ type: DType) -> Bool { kernel(for: type) != nil }

    /// Encodes `source` as `type` into `destination`, which must hold exactly the encoded size.
    ///
    /// Throws without writing anything when the type is unsupported, `source.count` is not a
    /// whole number of blocks or `destination` has the wrong size.
    public static func fromFloat32(
        _ source: UnsafeBufferPointer<Float>, to type: DType, into destination: UnsafeMutableRawBufferPointer
    ) throws(ConversionError) {
        guard let kernel = kernel(for: type) else { throw .unsupported(type) }
        let elements = source.count
        let blockElements = type.blockElements
        guard elements % blockElements == 0, let expected = type.byteCount(elements: elements) else {
            throw .partialBlock(type: type, elements: elements)
        }
        guard destination.count == expected else { throw .sizeMismatch(expected: expected, actual: destination.count) }
        guard elements > 0, let input = source.baseAddress, let output = destination.baseAddress else { return }
        let bytesPerBlock = type.blockBits / 8
        let bytes = output.assumingMemoryBound(to: UInt8.self)
        ThreadPool.shared.parallelRanges(elements / blockElements, bytesPerItem: bytesPerBlock + 4 * blockElements) { range in
            kernel(input + range.lowerBound * blockElements, bytes + range.lowerBound * bytesPerBlock, range.count)
        }
    }

    static func kernel(for type: DType) -> Kernel? {
        switch type {
        case .f32: f32
        case .f16: f16
        case .bf16: bf16
        case .q8_0: q8_0
        case .q4_0: q4_0
        default: nil
        }
    }

    // MARK: - Helpers

    /// numpy's float32 → small-integer cast on x86: truncate to Int32 (NaN and out-of-range
    /// values give `Int32.min`), keep the low byte.
    @inline(__always)
    static func castLowByte(_ value: Float) -> UInt8 {
        guard value.isFinite, value > -2_147_483_904, value < 2_147_483_648 else { return 0 }
        return UInt8(truncatingIfNeeded: Int32(value))
    }

    /// gguf-py's `np_roundf`: round half away from zero, in float32 steps.
    @inline(__always)
    static func roundHalfAway(_ value: Float) -> Float {
        let magnitude = abs(value)
        let floored = magnitude.rounded(.down)
        let rounded = floored + (2 * (magnitude - floored)).rounded(.down)
        let sign: Float = value.isNaN ? .nan : (value > 0 ? 1 : (value < 0 ? -1 : 0))
        return sign * rounded
    }

    @inline(__always)
    static func storeHalf(_ value: Float, _ destination: UnsafeMutablePointer<UInt8>) {
        let bits = Float16Bits.fromFloat(value)
        destination[0] = UInt8(truncatingIfNeeded: bits)
        destination[1] = UInt8(truncatingIfNeeded: bits >> 8)
    }

    // MARK: - Kernels

    static func f32(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ count: Int) {
        UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
    }

    static func f16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ count: Int) {
        for index in 0..<count { storeHalf(source[index], destination + 2 * index) }
    }

    static func bf16(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ count: Int) {
        for index in 0..<count {
            let bits = BFloat16Bits.fromFloat(source[index])
            destination[2 * index] = UInt8(truncatingIfNeeded: bits)
            destination[2 * index + 1] = UInt8(truncatingIfNeeded: bits >> 8)
        }
    }

    /// quants.py `Q8_0.quantize_blocks`: `d = max|x| / 127`, `q = np_roundf(x · (1/d))`.
    static func q8_0(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ blocks: Int) {
        for block in 0..<blocks {
            let x = source + 32 * block, out = destination + 34 * block
            var amax: Float = 0
            var sawNaN = false
            for j in 0..<32 {
                let magnitude = abs(x[j])
                if magnitude.isNaN { sawNaN = true } else if magnitude > amax { amax = magnitude }
            }
            if sawNaN { amax = .nan }
            let d = amax / 127
            let inverse: Float = d == 0 ? 0 : 1 / d
            for j in 0..<32 {
                out[2 + j] = castLowByte(roundHalfAway(x[j] * inverse))
            }
            storeHalf(d, out)
        }
    }

    /// quants.py `Q4_0.quantize_blocks`: `d = x[argmax|x|] / -8`, `q = trunc(x · (1/d) + 8.5)`
    /// clipped to 0…15, two quanta a byte (element j low nibble, j + 16 high nibble).
    static func q4_0(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt8>, _ blocks: Int) {
        for block in 0..<blocks {
            let x = source + 32 * block, out = destination + 18 * block
            var largest = 0
            var largestMagnitude = abs(x[0])
            if !largestMagnitude.isNaN {
                for j in 1..<32 {
                    let magnitude = abs(x[j])
                    if magnitude.isNaN { largest = j; break }
                    if magnitude > largestMagnitude { largest = j; largestMagnitude = magnitude }
                }
            }
            let d = x[largest] / -8
            let inverse: Float = d == 0 ? 0 : 1 / d
            var quanta: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &quanta) { q in
                for j in 0..<32 {
                    let shifted = (x[j] * inverse + 8.5).rounded(.towardZero)
                    q[j] = min(castLowByte(shifted), 15)
                }
                for j in 0..<16 { out[2 + j] = q[j] | (q[j + 16] << 4) }
            }
            storeHalf(d, out)
        }
    }
}
