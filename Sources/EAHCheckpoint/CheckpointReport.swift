/// What `eah-convert inspect` shows: a versioned JSON document or a human-readable listing.
public enum CheckpointReport {
    /// The JSON schema version of `json(_:)`.
    public static let schemaVersion = 1

    /// `{"schema": 1, "format", "path", "layout", "tensors": [{"name", "dtype", "shape"}], "metadata": {...}}`.
    /// Shapes are row-major, outermost dimension first. `layout` is the model layer's name for
    /// the checkpoint's weight layout (the formats layer does not know model families).
    public static func json(_ reader: any CheckpointReader, layout: String) -> JSONValue {
        let tensors = reader.tensors.map { tensor in
            JSONValue.object([
                ("name", .string(tensor.name)),
                ("dtype", .string(tensor.dtype.name)),
                ("shape", .array(tensor.shape.map(JSONValue.integer))),
            ])
        }
        return .object([
            ("schema", .integer(schemaVersion)),
            ("format", .string(reader.format.rawValue)),
            ("path", .string(reader.path)),
            ("layout", .string(layout)),
            ("tensors", .array(tensors)),
            ("metadata", .object(reader.metadata.map { ($0.key, $0.value.json) })),
        ])
    }

    /// A listing for people: format, layout, totals, metadata and a tensor table. Every name
    /// and string passes through `TerminalText.escape`.
    public static func text(_ reader: any CheckpointReader, layout: String) -> String {
        let tensors = reader.tensors
        let totalBytes = tensors.reduce(0) { $0 + $1.byteCount }
        let files = Set(tensors.map(\.file)).count
        var lines: [String] = []
        lines.append("path:     \(TerminalText.escape(reader.path))")
        lines.append("format:   \(reader.format.rawValue)\(files > 1 ? " (\(files) shards)" : "")")
        lines.append("layout:   \(TerminalText.escape(layout))")
        var counts: [String: Int] = [:]
        for tensor in tensors { counts[tensor.dtype.name, default: 0] += 1 }
        let dtypes = counts.sorted { $0.value > $1.value || $0.value == $1.value && $0.key < $1.key }
            .map { "\($0.key)×\($0.value)" }.joined(separator: " ")
        lines.append("tensors:  \(tensors.count) (\(ProgressBar.bytes(Double(totalBytes)))) \(dtypes)")
        if !reader.metadata.isEmpty {
            lines.append("")
            lines.append("metadata:")
            let width = reader.metadata.map { TerminalText.escape($0.key).count }.max() ?? 0
            for entry in reader.metadata {
                let key = TerminalText.escape(entry.key)
                lines.append("  \(key.padding(width)) \(entry.value.summary())")
            }
        }
        lines.append("")
        let rows = tensors.map { tensor in
            [TerminalText.escape(tensor.name), tensor.dtype.name, "[" + tensor.shape.map(String.init).joined(separator: ", ") + "]",
             String(tensor.byteCount), "\(tensor.byteRange.lowerBound)" + (tensor.view == nil ? "" : " (view)")]
        }
        let header = ["name", "dtype", "shape", "bytes", "offset"]
        let widths = (0..<header.count).map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        for row in [header] + rows {
            lines.append(zip(row, widths).enumerated().map { index, pair in
                index >= 3 ? pair.0.leftPadding(pair.1) : pair.0.padding(pair.1)
            }.joined(separator: "  "))
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }

    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
