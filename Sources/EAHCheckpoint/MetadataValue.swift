/// A typed metadata value. GGUF's value types are the richest, so they define the cases;
/// safetensors metadata is all `.string`.
/// Only arrays are boxed: a scalar element stays inline (24 bytes), not a heap box each.
public enum MetadataValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// Elements all of type `element`; `element` is kept so empty arrays round-trip.
    indirect case array(element: MetadataKind, [MetadataValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// The value type; its raw value is GGUF's type code.
    public var kind: MetadataKind {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    /// The value as an integer when it is any integer type that fits.
    public var integer: Int? {
        switch self {
        case .uint8(let v): Int(v)
        case .int8(let v): Int(v)
        case .uint16(let v): Int(v)
        case .int16(let v): Int(v)
        case .uint32(let v): Int(v)
        case .int32(let v): Int(v)
        case .uint64(let v): Int(exactly: v)
        case .int64(let v): Int(v)
        default: nil
        }
    }

    public var string: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// GGUF's metadata value type codes.
public enum MetadataKind: UInt32, Sendable, Equatable {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64
}

/// One metadata key and its value; readers keep the file's order.
public struct MetadataEntry: Sendable, Equatable {
    public let key: String
    public let value: MetadataValue

    public init(key: String, value: MetadataValue) {
        self.key = key
        self.value = value
    }
}
