extension WeightTypes {
    /// F32: IEEE binary32; products against F32 activations (FMA).
    enum F32: WeightType {
        static let dtype = DType.f32
        static let blockElements = 1
        static let blockBytes = 4
        static let activation = ActivationFormat.f32

        static func decode(_ source: UnsafePointer<UInt8>, _ destination: UnsafeMutablePointer<Float>, _ count: Int) {
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        }
    }
}
