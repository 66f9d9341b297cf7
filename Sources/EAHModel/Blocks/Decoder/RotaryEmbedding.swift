import EAHCore

/// Rotary position embedding frequencies, computed as transformers' `ROPE_INIT_FUNCTIONS` do.
///
/// Float32 where torch works on float32 tensors, Double where it uses Python floats, so results
/// match transformers to float32 rounding. `dynamic` is evaluated at its base length
/// (`maxPositionEmbeddings`), where it equals default RoPE; a runtime that passes that length must
/// recompute with the longer length.
public enum RotaryEmbedding {
    /// The inverse frequencies (headDim·partial/2 of them) and the factor cos/sin are scaled by.
    public static func parameters(_ rope: RopeParameters, headDim: Int, maxPositionEmbeddings: Int, sequenceLength: Int? = nil) -> (inverseFrequencies: [Float], attentionScaling: Float) {
        let partial = rope.extra["partial_rotary_factor"] ?? 1
        let dim = Int(Double(headDim) * partial)
        guard dim >= 2 else { return ([], 1) }
        let half = dim / 2
        func plain(_ base: Double) -> [Float] {
            let b = Float(base)
            return (0..<half).map { i in 1 / powf(b, Float(2 * i) / Float(dim)) }
        }
        switch rope.type {
        case .default:
            return (plain(rope.theta), 1)
        case .linear:
            let factor = Float(rope.factor)
            return (plain(rope.theta).map { $0 / factor }, 1)
        case .dynamic:
            let length = Double(max(sequenceLength ?? maxPositionEmbeddings, maxPositionEmbeddings))
            let scale = rope.factor * length / Double(maxPositionEmbeddings) - (rope.factor - 1)
            let base = rope.theta * pow(scale, Double(dim) / Double(dim - 2))
            return (plain(base), 1)
        case .llama3:
            let inverse = plain(rope.theta)
            let factor = Float(rope.factor)
            let low = rope.extra["low_freq_factor"] ?? 1
            let high = rope.extra["high_freq_factor"] ?? 4
            let old = Double(rope.originalMaxPositionEmbeddings ?? maxPositionEmbeddings)
            let lowWavelength = Float(old / low)
            let highWavelength = Float(old / high)
            let result = inverse.map { frequency -> Float in
                let wavelength = 2 * Float.pi / frequency
                let scaled = wavelength > lowWavelength ? frequency / factor : frequency
                let smooth = (Float(old) / wavelength - Float(low)) / Float(high - low)
                let smoothed = (1 - smooth) * scaled / factor + smooth * scaled
                let medium = !(wavelength < highWavelength) && !(wavelength > lowWavelength)
                return medium ? smoothed : scaled
            }
            return (result, 1)
        case .yarn:
            let factor = rope.factor
            let original = Double(rope.originalMaxPositionEmbeddings ?? maxPositionEmbeddings)
            func mscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
            var attention = rope.extra["attention_factor"]
            if attention == nil {
                if let m = rope.extra["mscale"], let all = rope.extra["mscale_all_dim"], m != 0, all != 0 {
                    attention = mscale(factor, m) / mscale(factor, all)
                } else {
                    attention = mscale(factor)
                }
            }
            let betaFast = nonZero(rope.extra["beta_fast"]) ?? 32
            let betaSlow = nonZero(rope.extra["beta_slow"]) ?? 1
            let truncate = (rope.extra["truncate"] ?? 1) != 0
            func correctionDim(_ rotations: Double) -> Double {
                Double(dim) * log(original / (rotations * 2 * Double.pi)) / (2 * log(rope.theta))
            }
            var low = correctionDim(betaFast), high = correctionDim(betaSlow)
            if truncate { low = floor(low); high = ceil(high) }
            low = max(low, 0)
            high = min(high, Double(dim - 1))
            if low == high { high += 0.001 }
            let b = Float(rope.theta)
            let f = Float(factor)
            let result = (0..<half).map { i -> Float in
                let position = powf(b, Float(2 * i) / Float(dim))
                let extrapolation = 1 / position
                let interpolation = 1 / (f * position)
                let ramp = min(max((Float(i) - Float(low)) / (Float(high) - Float(low)), 0), 1)
                let extrapolationFactor = 1 - ramp
                return interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor
            }
            return (result, Float(attention ?? 1))
        }
    }

    private static func nonZero(_ value: Double?) -> Double? {
        guard let value, value != 0 else { return nil }
        return value
    }
}
