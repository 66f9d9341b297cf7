extension WeightTypes {
    /// Q8_K: `d: f32 @0, qs[256]: i8 @4, bsums[16]: i16 @260`: w = d·q. Also the activation format of the 256-element types (bsums carry the sums per 16 for the min terms).
    enum Q8_K: WeightType {
        static let dtype = DType.q8_K
        static let blockElements = 256
        static let blockBytes = 292
        static let activation = ActivationFormat.q8_K

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 292 * block, y = destination + 256 * block
                let d = Float(bitPattern: BlockBytes.u32(b, 0))
                for j in 0..<256 { y[j] = Float(Int8(bitPattern: b[4 + j])) * d }
            }
        }
    }
}
