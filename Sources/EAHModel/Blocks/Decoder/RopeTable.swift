import EAHCore

/// Cosines and sines of rotary position embeddings for a list of position ids, applied to the
/// first `2·halfDim` values of each head (all of them unless `partial_rotary_factor` < 1; the
/// rest pass through, as transformers' partial-rotary models do).
///
/// As transformers does in float32: angle = position · inverse frequency, then cos/sin
/// multiplied by the scaling type's attention factor.
struct RopeTable {
    let halfDim: Int
    let style: DecoderSpec.Rope.Style
    let cosines: [Float]
    let sines: [Float]

    init(inverseFrequencies: [Float], attentionScaling: Float, positions: [Int], style: DecoderSpec.Rope.Style = .rotateHalf) {
        halfDim = inverseFrequencies.count
        self.style = style
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

    /// Multi-section positions (M-RoPE): pair `j` of the section `s` holding it rotates by
    /// `positionRows[s % positionRows.count][i]` at row `i`, as transformers' `mrope_section`
    /// recomposition does. `sections` must sum to the number of frequencies.
    init(inverseFrequencies: [Float], attentionScaling: Float, positionRows: [[Int]], sections: [Int], style: DecoderSpec.Rope.Style = .rotateHalf) {
        precondition(sections.reduce(0, +) == inverseFrequencies.count, "the sections must cover every rotary pair")
        precondition(!positionRows.isEmpty && positionRows.allSatisfy { $0.count == positionRows[0].count }, "one id per position in every row")
        halfDim = inverseFrequencies.count
        self.style = style
        var rowOfPair: [Int] = []
        for (section, size) in sections.enumerated() { rowOfPair += [Int](repeating: section % positionRows.count, count: size) }
        let count = positionRows[0].count
        var cosines = [Float](repeating: 0, count: count * halfDim), sines = cosines
        for i in 0..<count {
            for (j, frequency) in inverseFrequencies.enumerated() {
                let angle = Float(positionRows[rowOfPair[j]][i]) * frequency
                cosines[i * halfDim + j] = Float(cos(Double(angle))) * attentionScaling
                sines[i * halfDim + j] = Float(sin(Double(angle))) * attentionScaling
            }
        }
        self.cosines = cosines
        self.sines = sines
    }

    /// Rotates `heads` heads of `headDim` values for each of the table's positions; row `i` of
    /// `x` (stride `rowStride`) is the table's position `i`. Head `h` starts at `h · headDim`.
    func apply(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, rowStride: Int) {
        precondition(2 * halfDim <= headDim, "the rotated part cannot exceed the head")
        for row in 0..<rows {
            let base = row * halfDim
            for head in 0..<heads {
                let values = x + row * rowStride + head * headDim
                for j in 0..<halfDim {
                    let (a, b) = style == .rotateHalf ? (j, j + halfDim) : (2 * j, 2 * j + 1)
                    let first = values[a], second = values[b]
                    let c = cosines[base + j], s = sines[base + j]
                    values[a] = first * c + (-second) * s
                    values[b] = second * c + first * s
                }
            }
        }
    }
}
