extension WeightTypes {
    /// Q5_0: `d: f16 @0, qh: u32 @2, qs[16] @6`: a fifth bit from qh, w = d·(q − 16).
    enum Q5_0: WeightType {
        static let dtype = DType.q5_0
        static let blockElements = 32
        static let blockBytes = 22
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 22 * block, y = destination + 32 * block
                let d = BlockBytes.half(b, 0)
                let h = BlockBytes.u32(b, 2)
                for j in 0..<16 {
                    let q = b[6 + j]
                    let low = Int8(q & 0x0f) | Int8(truncatingIfNeeded: ((h >> UInt32(j)) & 1) << 4)
                    let high = Int8(q >> 4) | Int8(truncatingIfNeeded: ((h >> UInt32(j + 16)) & 1) << 4)
                    y[j] = d * Float(low - 16)
                    y[j + 16] = d * Float(high - 16)
                }
            }
        }
    }
}
