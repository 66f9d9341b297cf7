import EAHCore

/// Streams a `.safetensors` file laid out exactly like `safetensors` 0.8's `serialize`
/// (`safetensors.torch.save_file`), so the same tensors give a byte-identical file.
///
/// The layout: tensors sorted by descending dtype (safetensors' enum order, which is increasing
/// alignment) then by name (bytewise); the header is compact JSON with `__metadata__` first
/// (always holding `"format"`, `"pt"` unless given), then the tensors in data order; it is padded
/// with spaces to a multiple of 8. Byte-identity with the reference holds when the metadata is
/// only `format`: the reference serialises metadata from a hash map, in no fixed order.
///
/// Write each tensor's bytes with `write(_:)`, in `writeOrder`, whole or in chunks, then call
/// `finish()`. Any error abandons the output (nothing is left behind); so does dropping the
/// writer before `finish()`.
public final class SafetensorsWriter {
    public let path: String
    /// The order `write(_:)` expects tensors in (the file's data order).
    public let writeOrder: [TensorPlan]
    /// The complete header bytes, including the 8-byte length.
    public let header: [UInt8]
    private let output: AtomicOutputFile
    private var next = 0
    /// Bytes of `writeOrder[next]` written so far.
    private var writtenInTensor = 0
    private var failed = false

    /// Validates the plans, creates the temporary output and writes the header.
    ///
    /// Refuses (as usage errors) dtypes safetensors cannot store, duplicate or reserved names,
    /// invalid shapes and duplicate metadata keys, and an existing `path` unless `overwrite`.
    public init(path: String, overwrite: Bool, tensors: [TensorPlan], metadata: [(String, String)] = []) throws(CheckpointError) {
        self.path = path
        let layout: (order: [TensorPlan], header: [UInt8])
        do throws(SafetensorsProblem) {
            layout = try Self.layout(tensors: tensors, metadata: metadata)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
        writeOrder = layout.order
        header = layout.header
        output = try AtomicOutputFile(path: path, overwrite: overwrite)
        do throws(CheckpointError) {
            try output.write(header)
        } catch {
            output.abandon()
            throw error
        }
    }

    /// Appends bytes of the current tensor in `writeOrder`: its whole bytes at once or in
    /// chunks; a tensor is complete once its byte count is reached (a zero-byte tensor takes
    /// one empty write). Writing past a tensor's size abandons the output.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard !failed, next < writeOrder.count else {
            try fail(.writeSequence("more tensor writes than planned tensors (\(writeOrder.count))"))
        }
        let plan = writeOrder[next]
        let expected = plan.byteCount ?? 0
        guard bytes.count <= expected - writtenInTensor else {
            try fail(.wrongByteCount(tensor: plan.name, expected: expected, actual: writtenInTensor + bytes.count))
        }
        do throws(CheckpointError) {
            try output.write(bytes)
        } catch {
            failed = true
            output.abandon()
            throw error
        }
        writtenInTensor += bytes.count
        if writtenInTensor == expected {
            next += 1
            writtenInTensor = 0
        }
    }

    /// Appends the bytes of the next tensor in `writeOrder`.
    public func write(_ bytes: [UInt8]) throws(CheckpointError) {
        let result: Result<Void, CheckpointError> = bytes.withUnsafeBytes { raw in
            do throws(CheckpointError) { try write(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Checks every tensor was written and renames the file into place.
    public func finish() throws(CheckpointError) {
        if !failed, next < writeOrder.count, writtenInTensor > 0 {
            let plan = writeOrder[next]
            try fail(.wrongByteCount(tensor: plan.name, expected: plan.byteCount ?? 0, actual: writtenInTensor))
        }
        guard !failed, next == writeOrder.count else {
            try fail(.writeSequence("finish() after \(next) of \(writeOrder.count) tensors"))
        }
        do throws(CheckpointError) {
            try output.commit()
        } catch {
            failed = true
            throw error
        }
        failed = true  // no writes after finishing
    }

    private func fail(_ problem: SafetensorsProblem) throws(CheckpointError) -> Never {
        failed = true
        output.abandon()
        throw CheckpointError(path: path, problem: problem)
    }

    // MARK: - Layout

    /// The data order and header bytes for `tensors`, as the reference writer produces them.
    static func layout(tensors: [TensorPlan], metadata: [(String, String)]) throws(SafetensorsProblem)
        -> (order: [TensorPlan], header: [UInt8]) {
        var names: Set<String> = []
        for plan in tensors {
            guard plan.name != "__metadata__" else { throw .reservedName }
            guard names.insert(plan.name).inserted else { throw .duplicateTensorName(plan.name) }
            guard plan.dtype.isSafetensorsType else { throw .unsupportedDType(tensor: plan.name, dtype: plan.dtype.name) }
            guard plan.byteCount != nil, plan.shape.allSatisfy({ $0 <= SafetensorsReader.maxHeaderInteger }) else {
                throw .invalidShape(tensor: plan.name)
            }
        }
        var keys: Set<String> = []
        for (key, _) in metadata where !keys.insert(key).inserted { throw .duplicateMetadataKey(key) }

        let rank = Dictionary(uniqueKeysWithValues: DType.allCases.enumerated().map { ($1, $0) })
        let order = tensors.sorted { left, right in
            let l = rank[left.dtype] ?? 0, r = rank[right.dtype] ?? 0
            if l != r { return l > r }
            return left.name.utf8.lexicographicallyPrecedes(right.name.utf8)
        }

        var json: [UInt8] = []
        json.append(contentsOf: "{\"__metadata__\":{".utf8)
        let format = metadata.first { $0.0 == "format" }?.1 ?? "pt"
        let pairs = [("format", format)] + metadata.filter { $0.0 != "format" }
        for (position, (key, value)) in pairs.enumerated() {
            if position > 0 { json.append(UInt8(ascii: ",")) }
            appendString(key, to: &json)
            json.append(UInt8(ascii: ":"))
            appendString(value, to: &json)
        }
        json.append(UInt8(ascii: "}"))
        var offset = 0
        for plan in order {
            let size = plan.byteCount ?? 0
            let (end, overflow) = offset.addingReportingOverflow(size)
            guard !overflow, end <= SafetensorsReader.maxHeaderInteger else { throw .invalidShape(tensor: plan.name) }
            json.append(UInt8(ascii: ","))
            appendString(plan.name, to: &json)
            json.append(contentsOf: ":{\"dtype\":\"\(plan.dtype.name)\",\"shape\":[".utf8)
            json.append(contentsOf: plan.shape.map(String.init).joined(separator: ",").utf8)
            json.append(contentsOf: "],\"data_offsets\":[\(offset),\(end)]}".utf8)
            offset = end
        }
        json.append(UInt8(ascii: "}"))
        json.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (8 - json.count % 8) % 8))
        guard json.count <= SafetensorsReader.maxHeaderLength else { throw .headerTooLargeToWrite(length: json.count) }

        var header: [UInt8] = []
        header.reserveCapacity(8 + json.count)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { header.append(contentsOf: $0) }
        header.append(contentsOf: json)
        return (order, header)
    }

    /// Appends `text` as a JSON string escaped the way serde_json does.
    private static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        let hex = Array("0123456789abcdef".utf8)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): json.append(contentsOf: "\\\\".utf8)
            case 0x08: json.append(contentsOf: "\\b".utf8)
            case 0x0C: json.append(contentsOf: "\\f".utf8)
            case 0x0A: json.append(contentsOf: "\\n".utf8)
            case 0x0D: json.append(contentsOf: "\\r".utf8)
            case 0x09: json.append(contentsOf: "\\t".utf8)
            case 0x00..<0x20: json.append(contentsOf: "\\u00".utf8 + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }
}

extension SafetensorsWriter: StreamingTensorWriter {}
