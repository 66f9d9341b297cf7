extension MetadataValue {
    /// The value as JSON: numbers, strings, booleans and arrays as such; non-finite floats as
    /// the strings "nan", "inf" and "-inf" (JSON has no such numbers).
    public var json: JSONValue {
        switch self {
        case .uint8(let v): .integer(Int(v))
        case .int8(let v): .integer(Int(v))
        case .uint16(let v): .integer(Int(v))
        case .int16(let v): .integer(Int(v))
        case .uint32(let v): .integer(Int(v))
        case .int32(let v): .integer(Int(v))
        case .uint64(let v): Int(exactly: v).map(JSONValue.integer) ?? .number(Double(v))
        case .int64(let v): .integer(Int(v))
        case .float32(let v): Self.json(Double(v))
        case .float64(let v): Self.json(v)
        case .bool(let v): .bool(v)
        case .string(let v): .string(v)
        case .array(_, let values): .array(values.map(\.json))
        }
    }

    private static func json(_ value: Double) -> JSONValue {
        if value.isNaN { return .string("nan") }
        if value.isInfinite { return .string(value < 0 ? "-inf" : "inf") }
        return .number(value)
    }

    /// A short human rendering; arrays longer than `limit` show their first items and count.
    public func summary(limit: Int = 8) -> String {
        switch self {
        case .string(let v):
            return "\"\(TerminalText.escape(v))\""
        case .array(let element, let values):
            let shown = values.prefix(limit).map { $0.summary(limit: limit) }.joined(separator: ", ")
            return values.count > limit ? "[\(shown), … (\(values.count) \(element) items)]" : "[\(shown)]"
        case .float32(let v):
            return "\(v)"
        case .float64(let v):
            return "\(v)"
        case .bool(let v):
            return v ? "true" : "false"
        default:
            return integer.map(String.init) ?? "\(self)"
        }
    }
}
