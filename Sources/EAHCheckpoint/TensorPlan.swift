import EAHCore

/// A tensor a writer will receive: its name, element type and row-major shape.
///
/// Writers take every plan up front (headers hold all sizes) and then one tensor's bytes at a
/// time, in plan order.
public struct TensorPlan: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    /// Row-major, outermost dimension first.
    public let shape: [Int]

    public init(name: String, dtype: DType, shape: [Int]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
    }

    /// Bytes of the tensor, or nil when the shape overflows or is not whole blocks of `dtype`.
    public var byteCount: Int? { dtype.byteCount(shape: shape) }
}
