extension WeightTypes {
    /// Q3_K: `hmask[32] @0, qs[64] @32, scales[12] @96, d @108`: 3-bit q (the high bit inverted in hmask), signed 6-bit scales per 16.
    enum Q3_K: WeightType {
        static let dtype = DType.q3_K
        static let blockElements = 256
        static let blockBytes = 110
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 110 * block, y = destination + 256 * block
                let hmask = b, qs = b + 32, scales = b + 96
                let d = BlockBytes.half(b, 108)
                for sub in 0..<16 {
                    let low = sub < 8 ? scales[sub] & 0x0f : scales[sub - 8] >> 4
                    let high = (scales[8 + sub % 4] >> UInt8(2 * (sub / 4))) & 3
                    let scale = Int8(bitPattern: low | (high << 4)) &- 32
                    let dl = d * Float(scale)
                    // Element e = 128·half + 32·shift + l; sub-block = e / 16.
                    let half = sub / 8, shift = (sub % 8) / 2, offset = 16 * (sub % 2)
                    let maskBit = UInt8(4 * half + shift)
                    let out = y + 16 * sub
                    let q = qs + 32 * half + offset
                    let h = hmask + offset
                    for l in 0..<16 {
                        let low2 = Int8((q[l] >> UInt8(2 * shift)) & 3)
                        let missing = Int8(((h[l] >> maskBit) & 1) ^ 1) << 2
                        out[l] = dl * Float(low2 - missing)
                    }
                }
            }
        }
    }
}
