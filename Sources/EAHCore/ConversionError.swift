/// Why a conversion between an element type and float32 could not run.
///
/// `description` says what is wrong and how to fix it; the buffers are never touched when one
/// of these is thrown.
public enum ConversionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The element type has no float32 conversion in this direction.
    case unsupported(DType)
    /// The source or destination holds `actual` bytes where `expected` were needed.
    case sizeMismatch(expected: Int, actual: Int)
    /// `elements` is not a whole number of `type`'s blocks.
    case partialBlock(type: DType, elements: Int)

    public var description: String {
        switch self {
        case .unsupported(let type):
            "conversion between \(type.name) and F32 is not supported; convert the tensor to F32, F16, BF16 or Q8_0 with another tool first"
        case .sizeMismatch(let expected, let actual):
            "buffer holds \(actual) bytes but \(expected) are needed; pass buffers sized for the same element count"
        case .partialBlock(let type, let elements):
            "\(elements) elements are not a whole number of \(type.name) blocks of \(type.blockElements); use a tensor whose element count is a multiple of \(type.blockElements)"
        }
    }
}
