/// A LayerNorm (weight and bias) or RMSNorm (weight only), as F32.
public struct NormWeights: Sendable {
    public var weight: [Float]
    public var bias: [Float]?

    public init(weight: [Float], bias: [Float]? = nil) {
        self.weight = weight
        self.bias = bias
    }
}
