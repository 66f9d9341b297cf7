import EAHCore

/// Applies `LinearWeights` to rows of activations.
enum Linear {
    /// `rows × weight.rows` outputs of `x` (`rows × weight.columns`).
    static func apply(_ layer: LinearWeights, to x: UnsafePointer<Float>, rows: Int, pool: ThreadPool) -> [Float] {
        var output = [Float](repeating: 0, count: rows * layer.weight.rows)
        output.withUnsafeMutableBufferPointer { y in
            if let bias = layer.bias {
                bias.withUnsafeBufferPointer { b in
                    MatrixMultiply.linear(x, count: rows, weight: layer.weight, bias: b.baseAddress!, into: y.baseAddress!, pool: pool)
                }
            } else {
                MatrixMultiply.linear(x, count: rows, weight: layer.weight, bias: nil, into: y.baseAddress!, pool: pool)
            }
        }
        return output
    }
}
