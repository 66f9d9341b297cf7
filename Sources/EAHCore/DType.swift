/// The element type of a tensor, covering every safetensors dtype, every torch storage dtype
/// and every ggml type a GGUF file can name.
///
/// `name` is what users see: safetensors' spelling for plain types (`F32`, `BF16`, `I64`) and
/// ggml's for block-quantized ones (`Q8_0`, `Q4_K`). Sizes are described by blocks: a plain
/// type is a block of one element, a quantized type a block of `blockElements` elements that
/// occupies `blockBits / 8` bytes; sub-byte floats (`F4`, `F6_*`) have fractional byte sizes.
public enum DType: String, CaseIterable, Sendable, Hashable {
    // Plain types, in safetensors' enum order (increasing alignment).
    case bool = "BOOL"
    case f4 = "F4"
    case f6E2M3 = "F6_E2M3"
    case f6E3M2 = "F6_E3M2"
    case u8 = "U8"
    case i8 = "I8"
    case f8E5M2 = "F8_E5M2"
    case f8E4M3 = "F8_E4M3"
    case f8E8M0 = "F8_E8M0"
    case f8E4M3FNUZ = "F8_E4M3FNUZ"
    case f8E5M2FNUZ = "F8_E5M2FNUZ"
    case i16 = "I16"
    case u16 = "U16"
    case f16 = "F16"
    case bf16 = "BF16"
    case i32 = "I32"
    case u32 = "U32"
    case f32 = "F32"
    case c64 = "C64"
    case f64 = "F64"
    case i64 = "I64"
    case u64 = "U64"
    /// complex128: torch only; safetensors has no name for it.
    case c128 = "C128"
    // ggml block-quantized types.
    case q4_0 = "Q4_0"
    case q4_1 = "Q4_1"
    case q5_0 = "Q5_0"
    case q5_1 = "Q5_1"
    case q8_0 = "Q8_0"
    case q8_1 = "Q8_1"
    case q2_K = "Q2_K"
    case q3_K = "Q3_K"
    case q4_K = "Q4_K"
    case q5_K = "Q5_K"
    case q6_K = "Q6_K"
    case q8_K = "Q8_K"
    case iq2_XXS = "IQ2_XXS"
    case iq2_XS = "IQ2_XS"
    case iq3_XXS = "IQ3_XXS"
    case iq1_S = "IQ1_S"
    case iq4_NL = "IQ4_NL"
    case iq3_S = "IQ3_S"
    case iq2_S = "IQ2_S"
    case iq4_XS = "IQ4_XS"
    case iq1_M = "IQ1_M"
    case tq1_0 = "TQ1_0"
    case tq2_0 = "TQ2_0"
    case mxfp4 = "MXFP4"
    case nvfp4 = "NVFP4"
    case q1_0 = "Q1_0"
    case q2_0 = "Q2_0"

    /// The user-facing name (`F32`, `Q4_K`, ...).
    public var name: String { rawValue }

    /// Elements per block: 1 for plain types.
    public var blockElements: Int { Self.geometry[self]!.elements }

    /// Bits one block occupies.
    public var blockBits: Int { Self.geometry[self]!.bits }

    /// Whether this is a ggml block-quantized type.
    public var isQuantized: Bool { blockElements > 1 }

    /// The ggml type id, or nil when GGUF cannot store this type.
    public var ggmlTypeID: Int? { Self.ggmlIDs[self] }

    /// The type for a ggml type id, or nil for unknown and removed ids.
    public init?(ggmlTypeID: Int) {
        guard let type = Self.byGGMLID[ggmlTypeID] else { return nil }
        self = type
    }

    /// Whether values are real floating-point numbers (plain floats, FP8/FP6/FP4 and every
    /// ggml quantization); false for integers, bool and complex numbers.
    public var isFloatingPoint: Bool {
        switch self {
        case .bool, .u8, .i8, .i16, .u16, .i32, .u32, .i64, .u64, .c64, .c128: false
        default: true
        }
    }

    /// Whether safetensors can store this type.
    public var isSafetensorsType: Bool { !isQuantized && self != .c128 }

    /// Byte size of `elementCount` elements, or nil when the count is not a whole number of
    /// blocks, does not fill whole bytes, or overflows.
    public func byteCount(elements elementCount: Int) -> Int? {
        guard elementCount >= 0 else { return nil }
        let elements = blockElements, bits = blockBits
        guard elementCount % elements == 0 else { return nil }
        let (totalBits, overflow) = (elementCount / elements).multipliedReportingOverflow(by: bits)
        guard !overflow, totalBits % 8 == 0 else { return nil }
        return totalBits / 8
    }

    /// Byte size of a tensor of `shape`, or nil on overflow or a partial block/byte.
    public func byteCount(shape: [Int]) -> Int? {
        guard let count = Self.elementCount(shape) else { return nil }
        return byteCount(elements: count)
    }

    /// The product of `shape` with overflow and negativity checks; 1 for a scalar.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var product = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (next, overflow) = product.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            product = next
        }
        return product
    }

    private static let geometry: [DType: (elements: Int, bits: Int)] = [
        .bool: (1, 8), .f4: (1, 4), .f6E2M3: (1, 6), .f6E3M2: (1, 6), .u8: (1, 8), .i8: (1, 8),
        .f8E5M2: (1, 8), .f8E4M3: (1, 8), .f8E8M0: (1, 8), .f8E4M3FNUZ: (1, 8), .f8E5M2FNUZ: (1, 8),
        .i16: (1, 16), .u16: (1, 16), .f16: (1, 16), .bf16: (1, 16), .i32: (1, 32), .u32: (1, 32),
        .f32: (1, 32), .c64: (1, 64), .f64: (1, 64), .i64: (1, 64), .u64: (1, 64), .c128: (1, 128),
        .q4_0: (32, 18 * 8), .q4_1: (32, 20 * 8), .q5_0: (32, 22 * 8), .q5_1: (32, 24 * 8),
        .q8_0: (32, 34 * 8), .q8_1: (32, 36 * 8), .q2_K: (256, 84 * 8), .q3_K: (256, 110 * 8),
        .q4_K: (256, 144 * 8), .q5_K: (256, 176 * 8), .q6_K: (256, 210 * 8), .q8_K: (256, 292 * 8),
        .iq2_XXS: (256, 66 * 8), .iq2_XS: (256, 74 * 8), .iq3_XXS: (256, 98 * 8), .iq1_S: (256, 50 * 8),
        .iq4_NL: (32, 18 * 8), .iq3_S: (256, 110 * 8), .iq2_S: (256, 82 * 8), .iq4_XS: (256, 136 * 8),
        .iq1_M: (256, 56 * 8), .tq1_0: (256, 54 * 8), .tq2_0: (256, 66 * 8), .mxfp4: (32, 17 * 8),
        .nvfp4: (64, 36 * 8), .q1_0: (128, 18 * 8), .q2_0: (64, 18 * 8),
    ]

    private static let ggmlIDs: [DType: Int] = [
        .f32: 0, .f16: 1, .q4_0: 2, .q4_1: 3, .q5_0: 6, .q5_1: 7, .q8_0: 8, .q8_1: 9, .q2_K: 10,
        .q3_K: 11, .q4_K: 12, .q5_K: 13, .q6_K: 14, .q8_K: 15, .iq2_XXS: 16, .iq2_XS: 17,
        .iq3_XXS: 18, .iq1_S: 19, .iq4_NL: 20, .iq3_S: 21, .iq2_S: 22, .iq4_XS: 23, .i8: 24,
        .i16: 25, .i32: 26, .i64: 27, .f64: 28, .iq1_M: 29, .bf16: 30, .tq1_0: 34, .tq2_0: 35,
        .mxfp4: 39, .nvfp4: 40, .q1_0: 41, .q2_0: 42,
    ]

    private static let byGGMLID: [Int: DType] = Dictionary(uniqueKeysWithValues: ggmlIDs.map { ($1, $0) })
}
