import EAHCore

/// One tensor of a checkpoint: name, element type, row-major shape and where its bytes are.
public struct TensorInfo: Sendable, Equatable {
    /// The name exactly as stored in the file.
    public let name: String
    public let dtype: DType
    /// Row-major, outermost dimension first (GGUF's `ne` order reversed). `[]` is a scalar.
    public let shape: [Int]
    /// The file holding the bytes (a shard's path for sharded checkpoints).
    public let file: String
    /// Absolute byte range in `file`: the tensor's own bytes when `view` is nil, otherwise the
    /// whole storage the strided view reads from.
    public let byteRange: Range<Int>
    /// Set when the bytes are a strided view of a storage (PyTorch); reading such a tensor
    /// materialises a dense copy.
    public let view: StridedView?

    public init(name: String, dtype: DType, shape: [Int], file: String, byteRange: Range<Int>, view: StridedView? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.file = file
        self.byteRange = byteRange
        self.view = view
    }

    /// Number of elements (1 for a scalar). Readers validate shapes, so this cannot overflow.
    public var elementCount: Int { DType.elementCount(shape) ?? 0 }

    /// Bytes of the dense tensor.
    public var byteCount: Int { dtype.byteCount(shape: shape) ?? 0 }
}

/// A strided view into a storage, in elements: element `idx` is at
/// `offset + Σ idx[k] * strides[k]` of the storage.
public struct StridedView: Sendable, Equatable {
    public let offset: Int
    public let strides: [Int]

    public init(offset: Int, strides: [Int]) {
        self.offset = offset
        self.strides = strides
    }
}
