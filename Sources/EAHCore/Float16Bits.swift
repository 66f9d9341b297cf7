/// IEEE binary16 <-> Float conversion on raw 16-bit patterns, bit-exact to numpy.
///
/// Done with integer operations so the result never depends on the CPU's half-float support:
/// NaN payloads are kept (numpy's `npy_half_to_float` / `npy_float_to_half`).
public enum Float16Bits {
    /// The float a half bit pattern stands for (exact; NaN payloads are kept).
    @inlinable
    public static func toFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1f
        let mantissa = UInt32(bits & 0x3ff)
        if exponent == 0x1f {
            return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
        }
        if exponent == 0 {
            // Zero or subnormal: mantissa · 2^-24 is exact in float32.
            let magnitude = Float(mantissa) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }

    /// Rounds a float to half: nearest, ties to even, subnormals included, overflow to ±inf;
    /// NaN keeps its sign and high payload bits and stays NaN (numpy's `astype(float16)`).
    @inlinable
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits & 0x8000_0000) >> 16)
        let exponentField = bits & 0x7f80_0000
        if exponentField >= 0x4780_0000 {
            if exponentField == 0x7f80_0000 {
                let significand = bits & 0x007f_ffff
                if significand != 0 {
                    var nan = UInt16(truncatingIfNeeded: 0x7c00 + (significand >> 13))
                    if nan == 0x7c00 { nan += 1 }
                    return sign | nan
                }
            }
            return sign | 0x7c00
        }
        if exponentField <= 0x3800_0000 {
            if exponentField < 0x3300_0000 { return sign }
            let exponent = exponentField >> 23
            var significand = (0x0080_0000 + (bits & 0x007f_ffff)) >> (113 - exponent)
            if (significand & 0x3fff) != 0x1000 || (bits & 0x7ff) != 0 {
                significand += 0x1000
            }
            return sign | UInt16(truncatingIfNeeded: significand >> 13)
        }
        let halfExponent = UInt16(truncatingIfNeeded: (exponentField - 0x3800_0000) >> 13)
        var significand = bits & 0x007f_ffff
        if (significand & 0x3fff) != 0x1000 {
            significand += 0x1000
        }
        return sign | (UInt16(truncatingIfNeeded: significand >> 13) &+ halfExponent)
    }
}
