extension WeightTypes {
    /// Q6_K: `ql[128] @0, qh[64] @128, scales[16]: i8 @192, d @208`: 6-bit q, w = d·s·(q − 32) per 16.
    enum Q6_K: WeightType {
        static let dtype = DType.q6_K
        static let blockElements = 256
        static let blockBytes = 210
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 210 * block, y = destination + 256 * block
                let ql = b, qh = b + 128, scales = b + 192
                let d = BlockBytes.half(b, 208)
                for sub in 0..<16 {
                    let dl = d * Float(Int8(bitPattern: scales[sub]))
                    // Element e = 128·half + i: low nibble of ql[64·half + i%64] shifted by 4·(i/64),
                    // high bits of qh[32·half + i%32] shifted by 2·(i/32).
                    let half = sub / 8, first = 16 * (sub % 8)
                    let lowShift = UInt8(4 * (first / 64)), highShift = UInt8(2 * (first / 32))
                    let low = ql + 64 * half + first % 64
                    let high = qh + 32 * half + first % 32
                    let out = y + 16 * sub
                    for l in 0..<16 {
                        let value = ((low[l] >> lowShift) & 0x0f) | (((high[l] >> highShift) & 3) << 4)
                        out[l] = dl * Float(Int8(value) - 32)
                    }
                }
            }
        }
    }
}
