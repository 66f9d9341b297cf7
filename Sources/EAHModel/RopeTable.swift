#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Cosines and sines of rotary position embeddings for a run of positions, applied in
/// Hugging Face's rotate-half layout (the first and second halves of each head pair up).
///
/// As transformers does in float32: angle = position · inverse frequency, then cos/sin
/// multiplied by the scaling type's attention factor.
struct RopeTable {
    let halfDim: Int
    let cosines: [Float]
    let sines: [Float]

    init(inverseFrequencies: [Float], attentionScaling: Float, positions: Range<Int>) {
        halfDim = inverseFrequencies.count
        var cosines = [Float](), sines = [Float]()
        cosines.reserveCapacity(positions.count * halfDim)
        sines.reserveCapacity(positions.count * halfDim)
        for position in positions {
            for frequency in inverseFrequencies {
                let angle = Float(position) * frequency
                cosines.append(Float(cos(Double(angle))) * attentionScaling)
                sines.append(Float(sin(Double(angle))) * attentionScaling)
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates `heads` heads of `2·halfDim` values for each of the table's positions; row `i`
    /// of `x` (stride `rowStride`) is the table's position `i`.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, rowStride: Int) {
        let dim = 2 * halfDim
        for row in 0..<rows {
            let base = row * halfDim
            for head in 0..<heads {
                let values = x + row * rowStride + head * dim
                for j in 0..<halfDim {
                    let first = values[j], second = values[j + halfDim]
                    let c = cosines[base + j], s = sines[base + j]
                    values[j] = first * c + (-second) * s
                    values[j + halfDim] = second * c + first * s
                }
            }
        }
    }
}
