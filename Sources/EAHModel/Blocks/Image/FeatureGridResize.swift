import EAHCore

/// Resizing a grid of feature vectors (`rows × columns × width`, row-major) the way
/// `torch.nn.functional.interpolate(mode="bilinear", align_corners=False)` resizes a
/// `[width, rows, columns]` tensor to an explicit size (no antialiasing; each output cell's
/// source is `(i + 0.5) · in/out − 0.5`, clamped at 0, between its two neighbours).
enum FeatureGridResize {
    static func bilinear(_ grid: [Float], rows: Int, columns: Int, width: Int, toRows newRows: Int, columns newColumns: Int) -> [Float] {
        precondition(grid.count == rows * columns * width && newRows > 0 && newColumns > 0)
        let ys = taps(from: rows, to: newRows), xs = taps(from: columns, to: newColumns)
        var output = [Float](repeating: 0, count: newRows * newColumns * width)
        for (r, y) in ys.enumerated() {
            for (c, x) in xs.enumerated() {
                let out = (r * newColumns + c) * width
                let i00 = (y.low * columns + x.low) * width, i01 = (y.low * columns + x.high) * width
                let i10 = (y.high * columns + x.low) * width, i11 = (y.high * columns + x.high) * width
                for k in 0..<width {
                    let top = x.lowWeight * grid[i00 + k] + x.highWeight * grid[i01 + k]
                    let bottom = x.lowWeight * grid[i10 + k] + x.highWeight * grid[i11 + k]
                    output[out + k] = y.lowWeight * top + y.highWeight * bottom
                }
            }
        }
        return output
    }

    /// For each output index along one axis: the two source indices and their weights.
    private static func taps(from input: Int, to output: Int) -> [(low: Int, high: Int, lowWeight: Float, highWeight: Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { index in
            let source = max(scale * (Float(index) + 0.5) - 0.5, 0)
            let low = min(Int(source), input - 1)
            let high = low < input - 1 ? low + 1 : low
            let highWeight = source - Float(low)
            return (low, high, 1 - highWeight, highWeight)
        }
    }

    /// Python's `a // b` for positive floats (`float.__floordiv__`: from `fmod`, as CPython computes
    /// it), so sizes derived with it match transformers' to the integer.
    static func pythonFloorDivide(_ a: Double, _ b: Double) -> Double {
        let mod = fmod(a, b)
        let division = (a - mod) / b
        var floored = division.rounded(.down)
        if division - floored > 0.5 { floored += 1 }
        return floored
    }
}
