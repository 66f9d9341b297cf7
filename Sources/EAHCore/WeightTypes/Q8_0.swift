extension WeightTypes {
    /// Q8_0: `d: f16 @0, qs[32]: i8 @2`: w = d·q. Also the activation format of the 32-element types.
    enum Q8_0: WeightType {
        static let dtype = DType.q8_0
        static let blockElements = 32
        static let blockBytes = 34
        static let activation = ActivationFormat.q8_0

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ blocks: Int) {
            for block in 0..<blocks {
                let b = source + 34 * block, y = destination + 32 * block
                let d = BlockBytes.half(b, 0)
                for j in 0..<32 { y[j] = Float(Int8(bitPattern: b[2 + j])) * d }
            }
        }
    }
}
