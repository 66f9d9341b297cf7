extension WeightTypes {
    /// Q5_1: `d @0, m @2, qh: u32 @4, qs[16] @8`: 5-bit q, w = d·q + m.
    enum Q5_1: WeightType {
        static let dtype = DType.q5_1
        static let blockElements = 32
        static let blockBytes = 24
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 24 * block, y = destination + 32 * block
                let d = BlockBytes.half(b, 0), m = BlockBytes.half(b, 2)
                let h = BlockBytes.u32(b, 4)
                for j in 0..<16 {
                    let q = b[8 + j]
                    let low = UInt8(q & 0x0f) | UInt8(truncatingIfNeeded: ((h >> UInt32(j)) & 1) << 4)
                    let high = UInt8(q >> 4) | UInt8(truncatingIfNeeded: ((h >> UInt32(j + 16)) & 1) << 4)
                    y[j] = d * Float(low) + m
                    y[j + 16] = d * Float(high) + m
                }
            }
        }
    }
}
