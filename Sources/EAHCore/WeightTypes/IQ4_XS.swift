extension WeightTypes {
    /// IQ4_XS: `d @0, scales_h: u16 @2, scales_l[4] @4, qs[128] @8`: 8 sub-blocks of 32, 6-bit scales (ls − 32), w = d·(ls − 32)·K[q].
    enum IQ4_XS: WeightType {
        static let dtype = DType.iq4_XS
        static let blockElements = 256
        static let blockBytes = 136
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            BlockBytes.iq4Levels.withUnsafeBufferPointer { levels in
                for block in 0..<blocks {
                    let b = source + 136 * block, y = destination + 256 * block
                    let d = BlockBytes.half(b, 0)
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
    }
}
