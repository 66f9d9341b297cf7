extension WeightTypes {
    /// Q4_1: `d: f16 @0, m: f16 @2, qs[16] @4`: w = d·q + m (4-bit q, low nibbles first). The min term of a product is m·d₈·Σq₈.
    enum Q4_1: WeightType {
        static let dtype = DType.q4_1
        static let blockElements = 32
        static let blockBytes = 20
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 20 * block, y = destination + 32 * block
                let d = BlockBytes.half(b, 0), m = BlockBytes.half(b, 2)
                for j in 0..<16 {
                    let q = b[4 + j]
                    y[j] = d * Float(q & 0x0f) + m
                    y[j + 16] = d * Float(q >> 4) + m
                }
            }
        }
    }
}
