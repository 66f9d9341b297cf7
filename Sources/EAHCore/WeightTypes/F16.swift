extension WeightTypes {
    /// F16: IEEE binary16; products widen to F32 (F16C / NEON) against F32 activations.
    enum F16: WeightType {
        static let dtype = DType.f16
        static let blockElements = 1
        static let blockBytes = 2
        static let activation = ActivationFormat.f32

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
            for index in 0..<count { destination[index] = BlockBytes.half(source, 2 * index) }
        }
    }
}
