extension WeightTypes {
    /// Q2_K: `scales[16] @0, qs[64] @16, d @80, dmin @82`: 16 sub-blocks of 16 with 4-bit scale and min, w = d·sc·q − dmin·m (2-bit q).
    enum Q2_K: WeightType {
        static let dtype = DType.q2_K
        static let blockElements = 256
        static let blockBytes = 84
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 84 * block, y = destination + 256 * block
                let d = BlockBytes.half(b, 80), dmin = BlockBytes.half(b, 82)
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
    }
}
