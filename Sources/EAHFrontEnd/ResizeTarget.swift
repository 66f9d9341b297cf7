/// The `size` of a preprocessor configuration: what `do_resize` resizes to.
public enum ResizeTarget: Sendable, Equatable {
    /// The shorter side becomes `n`; the longer keeps the aspect ratio, truncated to an integer
    /// (transformers' `get_resize_output_image_size` with `default_to_square=False`).
    case shortestEdge(Int)
    /// Exactly `height × width`.
    case exact(height: Int, width: Int)

    /// The output (height, width) for an input of `height × width`.
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        switch self {
        case .exact(let h, let w):
            return (h, w)
        case .shortestEdge(let edge):
            let short = min(width, height), long = max(width, height)
            // Python: int(size * long / short); the operands are exact in double.
            let newLong = Int(Double(edge * long) / Double(short))
            return width <= height ? (newLong, edge) : (edge, newLong)
        }
    }
}
