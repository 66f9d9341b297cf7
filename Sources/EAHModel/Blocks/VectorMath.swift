import EAHCore

/// Row-wise normalisations, activations and softmax on F32 buffers, computed as transformers
/// computes them in float32 (sums accumulated in Double for stability). Norms and activations of
/// large buffers are split over `pool` (each row's or element's result is the same either way).
public enum VectorMath {
    /// LLaMA's RMSNorm of each of `rows` rows of `width`: `w · x / sqrt(mean(x²) + eps)`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, rows: Int, width: Int, weight: [Float], eps: Float, into y: UnsafeMutablePointer<Float>,
                               pool: ThreadPool = .shared) {
        weight.withUnsafeBufferPointer { w in
            pool.parallelRanges(rows, bytesPerItem: 8 * width) { range in
                for row in range {
                    let input = x + row * width, output = y + row * width
                    var sum: Double = 0
                    for i in 0..<width { sum += Double(input[i]) * Double(input[i]) }
                    let inverse = Float(1 / (sum / Double(width) + Double(eps)).squareRoot())
                    for i in 0..<width { output[i] = w[i] * (input[i] * inverse) }
                }
            }
        }
    }

    /// LayerNorm of each row: `(x − mean) / sqrt(var + eps) · w + b` (biased variance).
    public static func layerNorm(_ x: UnsafePointer<Float>, rows: Int, width: Int, weights: NormWeights, eps: Float, into y: UnsafeMutablePointer<Float>,
                                 pool: ThreadPool = .shared) {
        let weight = weights.weight, bias = weights.bias ?? [Float](repeating: 0, count: width)
        pool.parallelRanges(rows, bytesPerItem: 16 * width) { range in
            for row in range {
                let input = x + row * width, output = y + row * width
                var sum: Double = 0
                for i in 0..<width { sum += Double(input[i]) }
                let mean = sum / Double(width)
                var squares: Double = 0
                for i in 0..<width {
                    let centered = Double(input[i]) - mean
                    squares += centered * centered
                }
                let inverse = 1 / (squares / Double(width) + Double(eps)).squareRoot()
                for i in 0..<width {
                    output[i] = Float((Double(input[i]) - mean) * inverse) * weight[i] + bias[i]
                }
            }
        }
    }

    /// Applies `activation` in place to `count` values.
    public static func activate(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation, pool: ThreadPool = .shared) {
        pool.parallelRanges(count, bytesPerItem: 64) { range in
            activateSerially(x + range.lowerBound, count: range.count, activation)
        }
    }

    private static func activateSerially(_ x: UnsafeMutablePointer<Float>, count: Int, _ activation: Activation) {
        switch activation {
        case .quickGELU:
            KernelSet.active.sigmoidGate(x, count: count, alpha: 1.702)
        case .gelu:
            for i in 0..<count {
                let value = Double(x[i])
                x[i] = Float(0.5 * value * (1 + erf(value / 2.0.squareRoot())))
            }
        case .geluTanh:
            for i in 0..<count {
                let value = Double(x[i])
                let inner = (2 / Double.pi).squareRoot() * (value + 0.044715 * value * value * value)
                x[i] = Float(0.5 * value * (1 + tanh(inner)))
            }
        case .silu:
            KernelSet.active.sigmoidGate(x, count: count)
        }
    }

    /// Softmax of each row of `width` values, in place; `-infinity` entries become 0.
    public static func softmaxRows(_ x: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let values = x + row * width
            var maximum = -Float.infinity
            for i in 0..<width where values[i] > maximum { maximum = values[i] }
            guard maximum > -Float.infinity else {
                for i in 0..<width { values[i] = 0 }
                continue
            }
            let inverse = 1 / KernelSet.active.expShifted(values, count: width, shift: maximum)
            for i in 0..<width { values[i] *= inverse }
        }
    }

    /// `y[i] += x[i]`.
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { y[i] += x[i] }
    }
}
