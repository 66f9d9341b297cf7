/// bfloat16 <-> Float conversion on raw 16-bit patterns, as ggml and gguf-py do it.
public enum BFloat16Bits {
    /// The float a bfloat16 bit pattern stands for (exact).
    @inlinable
    public static func toFloat(_ bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Rounds a float to bfloat16 the way gguf-py and ggml do: NaN becomes a quiet NaN with the
    /// same sign and high mantissa bits; everything else rounds to nearest, ties to even.
    @inlinable
    public static func fromFloat(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if bits & 0x7fff_ffff > 0x7f80_0000 {
            return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40)
        }
        return UInt16(truncatingIfNeeded: (bits &+ (0x7fff &+ ((bits >> 16) & 1))) >> 16)
    }
}
