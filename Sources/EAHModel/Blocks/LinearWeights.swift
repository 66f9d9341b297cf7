import EAHCore

/// A Linear layer: `y = x · Wᵀ + b`, W as `rows` (out) × `columns` (in).
public struct LinearWeights: Sendable {
    public var weight: WeightMatrix
    public var bias: [Float]?

    public init(weight: WeightMatrix, bias: [Float]? = nil) {
        self.weight = weight
        self.bias = bias
    }
}
