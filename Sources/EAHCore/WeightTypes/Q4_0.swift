extension WeightTypes {
    /// Q4_0: `d: f16 @0, qs[16] @2`: w[j] = d·(lo(qs[j]) − 8), w[j+16] = d·(hi(qs[j]) − 8).
    enum Q4_0: WeightType {
        static let dtype = DType.q4_0
        static let blockElements = 32
        static let blockBytes = 18
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 18 * block, y = destination + 32 * block
                let d = BlockBytes.half(b, 0)
                for j in 0..<16 {
                    let q = b[2 + j]
                    y[j] = d * Float(Int8(q & 0x0f) - 8)
                    y[j + 16] = d * Float(Int8(q >> 4) - 8)
                }
            }
        }
    }
}
