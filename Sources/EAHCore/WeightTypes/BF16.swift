extension WeightTypes {
    /// BF16: bfloat16 (the top half of a binary32); products widen to F32 against F32 activations.
    enum BF16: WeightType {
        static let dtype = DType.bf16
        static let blockElements = 1
        static let blockBytes = 2
        static let activation = ActivationFormat.f32

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
            for index in 0..<count {
                destination[index] = BFloat16Bits.toFloat(UInt16(source[2 * index]) | UInt16(source[2 * index + 1]) << 8)
            }
        }
    }
}
