extension WeightTypes {
    /// Q4_K: `d @0, dmin @2, scales[12] @4, qs[128] @16`: 8 sub-blocks of 32 with 6-bit scale and min, w = d·sc·q − dmin·m.
    enum Q4_K: WeightType {
        static let dtype = DType.q4_K
        static let blockElements = 256
        static let blockBytes = 144
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 144 * block, y = destination + 256 * block
                let d = BlockBytes.half(b, 0), dmin = BlockBytes.half(b, 2)
                let scales = b + 4, qs = b + 16
                for sub in 0..<8 {
                    let (scale, minimum) = BlockBytes.scaleMin(scales, sub)
                    let dl = d * Float(scale)
                    let ml = dmin * Float(minimum)
                    let q = qs + 32 * (sub / 2)
                    let shift = UInt8(4 * (sub % 2))
                    let out = y + 32 * sub
                    for l in 0..<32 {
                        out[l] = dl * Float((q[l] >> shift) & 0x0f) - ml
                    }
                }
            }
        }
    }
}
