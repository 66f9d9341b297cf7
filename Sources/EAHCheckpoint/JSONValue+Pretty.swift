extension JSONValue {
    /// Indented JSON text for files people read (reports): objects and arrays of containers one
    /// member per line, arrays of scalars on one line (a heatmap row stays a row).
    public var pretty: String {
        var output = ""
        prettyPrint(into: &output, indent: "")
        return output
    }

    private func prettyPrint(into output: inout String, indent: String) {
        let inner = indent + "  "
        switch self {
        case .object(let members) where !members.isEmpty:
            output += "{\n"
            for (index, (key, value)) in members.enumerated() {
                output += inner + JSONValue.string(key).serialized + ": "
                value.prettyPrint(into: &output, indent: inner)
                output += index + 1 < members.count ? ",\n" : "\n"
            }
            output += indent + "}"
        case .array(let values) where values.contains(where: \.isContainer):
            output += "[\n"
            for (index, value) in values.enumerated() {
                output += inner
                value.prettyPrint(into: &output, indent: inner)
                output += index + 1 < values.count ? ",\n" : "\n"
            }
            output += indent + "]"
        case .array(let values):
            output += "[" + values.map(\.serialized).joined(separator: ", ") + "]"
        default:
            output += serialized
        }
    }

    private var isContainer: Bool {
        switch self {
        case .object(let members): !members.isEmpty
        case .array: true
        default: false
        }
    }
}
