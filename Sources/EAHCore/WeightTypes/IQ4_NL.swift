extension WeightTypes {
    /// IQ4_NL: `d: f16 @0, qs[16] @2`: w = d·K[q] with the non-linear levels K (low nibbles first).
    enum IQ4_NL: WeightType {
        static let dtype = DType.iq4_NL
        static let blockElements = 32
        static let blockBytes = 18
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            BlockBytes.iq4Levels.withUnsafeBufferPointer { levels in
                for block in 0..<blocks {
                    let b = source + 18 * block, y = destination + 32 * block
                    let d = BlockBytes.half(b, 0)
                    for j in 0..<16 {
                        let q = b[2 + j]
                        y[j] = d * Float(levels[Int(q & 0x0f)])
                        y[j + 16] = d * Float(levels[Int(q >> 4)])
                    }
                }
            }
        }
    }
}
