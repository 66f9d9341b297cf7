extension WeightTypes {
    /// Q5_K: `d @0, dmin @2, scales[12] @4, qh[32] @16, qs[128] @48`: Q4_K with a fifth bit from qh.
    enum Q5_K: WeightType {
        static let dtype = DType.q5_K
        static let blockElements = 256
        static let blockBytes = 176
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 176 * block, y = destination + 256 * block
                let d = BlockBytes.half(b, 0), dmin = BlockBytes.half(b, 2)
                let scales = b + 4, qh = b + 16, qs = b + 48
                for sub in 0..<8 {
                    let (scale, minimum) = BlockBytes.scaleMin(scales, sub)
                    let dl = d * Float(scale)
                    let ml = dmin * Float(minimum)
                    let q = qs + 32 * (sub / 2)
                    let shift = UInt8(4 * (sub % 2))
                    let bit = UInt8(sub)
                    let out = y + 32 * sub
                    for l in 0..<32 {
                        let value = ((q[l] >> shift) & 0x0f) | (((qh[l] >> bit) & 1) << 4)
                        out[l] = dl * Float(value) - ml
                    }
                }
            }
        }
    }
}
