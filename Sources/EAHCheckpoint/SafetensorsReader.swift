import EAHCore

/// Reads a `.safetensors` file: validates the whole header exactly as the reference crate does
/// (formats.md §1.4) and hands out zero-copy tensor bytes from the memory map.
///
/// Stricter than the crate: duplicate keys, extra fields in a tensor entry, numbers above 2^53
/// and `"__metadata__": null` are rejected. `tensors` is in data (offset) order and each
/// `byteRange` is absolute in the file. `metadata` holds `__metadata__` as `.string` values in
/// header order.
public final class SafetensorsReader: CheckpointReader {
    /// The largest header the reference crate accepts.
    public static let maxHeaderLength = 100_000_000
    /// The largest integer the header may hold (JSON's exact-double range).
    static let maxHeaderInteger = 1 << 53

    public let file: MappedFile
    public var path: String { file.path }
    public var format: CheckpointFormat { .safetensors }
    public let tensors: [TensorInfo]
    public let metadata: [MetadataEntry]
    /// Byte length `N` of the JSON header (including padding).
    public let headerLength: Int
    /// Absolute offset of the byte buffer (8 + N).
    public var dataOffset: Int { 8 + headerLength }
    /// UTF-8 bytes of each name → position in `tensors` (bytes, not String equality, which
    /// merges canonically equivalent names).
    private let index: [[UInt8]: Int]

    /// Opens and maps `path`, then validates it.
    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: try MappedFile(path: path))
    }

    /// Validates the mapped `file`.
    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        do throws(SafetensorsProblem) {
            let parsed = try Self.parse(file.bytes, path: file.path)
            headerLength = parsed.headerLength
            tensors = parsed.tensors
            metadata = parsed.metadata
        } catch {
            throw CheckpointError(path: file.path, problem: error)
        }
        var index: [[UInt8]: Int] = [:]
        for (position, tensor) in tensors.enumerated() { index[Array(tensor.name.utf8)] = position }
        self.index = index
    }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        guard let position = index[Array(tensor.name.utf8)], tensors[position] == tensor else {
            throw CheckpointError(path: path, problem: SafetensorsProblem.notInFile(tensor: tensor.name))
        }
        return TensorBytes(file: file, range: tensor.byteRange)
    }

    // MARK: - Validation

    private struct Entry {
        let name: String
        let dtype: DType
        let shape: [Int]
        let begin: Int
        let end: Int
        let headerPosition: Int
    }

    private static func parse(_ bytes: UnsafeRawBufferPointer, path: String)
        throws(SafetensorsProblem) -> (headerLength: Int, tensors: [TensorInfo], metadata: [MetadataEntry]) {
        // 1–3: the header length.
        guard bytes.count >= 8 else { throw .headerTooSmall(fileLength: bytes.count) }
        let rawLength = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        guard rawLength <= UInt64(maxHeaderLength) else { throw .headerTooLarge(headerLength: rawLength) }
        let headerLength = Int(rawLength)
        guard headerLength <= bytes.count - 8 else { throw .headerPastEnd(headerLength: rawLength, fileLength: bytes.count) }
        let header = UnsafeRawBufferPointer(rebasing: bytes[8..<8 + headerLength])

        // 4: UTF-8, JSON, schema.
        if let bad = JSONParser.firstInvalidUTF8(header) { throw .headerNotUTF8(offset: 8 + bad) }
        let root: JSONValue
        do throws(JSONProblem) {
            root = try JSONParser.parse(header)
        } catch {
            if case .duplicateKey(let key, _) = error { throw .duplicateKey(key) }
            throw .invalidJSON(error)
        }
        guard case .object(let members) = root else { throw .headerNotObject }
        var entries: [Entry] = []
        var metadata: [MetadataEntry] = []
        for (position, (name, value)) in members.enumerated() {
            if name == "__metadata__" {
                guard case .object(let pairs) = value else { throw .invalidMetadata(key: nil) }
                for (key, item) in pairs {
                    guard case .string(let text) = item else { throw .invalidMetadata(key: key) }
                    metadata.append(MetadataEntry(key: key, value: .string(text)))
                }
            } else {
                entries.append(try entry(name: name, value: value, position: position))
            }
        }

        // 5: contiguous coverage in (begin, end) order, sizes.
        entries.sort { ($0.begin, $0.end, $0.headerPosition) < ($1.begin, $1.end, $1.headerPosition) }
        var expected = 0
        for entry in entries {
            if entry.begin > expected { throw .gap(tensor: entry.name, begin: entry.begin, expected: expected) }
            if entry.begin < expected { throw .overlap(tensor: entry.name, begin: entry.begin, expected: expected) }
            if entry.end < entry.begin { throw .endBeforeBegin(tensor: entry.name, begin: entry.begin, end: entry.end) }
            guard let elements = DType.elementCount(entry.shape) else { throw .shapeOverflow(tensor: entry.name) }
            let (bits, overflow) = elements.multipliedReportingOverflow(by: entry.dtype.blockBits)
            guard !overflow else { throw .shapeOverflow(tensor: entry.name) }
            guard bits % 8 == 0 else { throw .misalignedSlice(tensor: entry.name) }
            guard bits / 8 == entry.end - entry.begin else {
                throw .sizeMismatch(tensor: entry.name, expected: bits / 8, actual: entry.end - entry.begin)
            }
            expected = entry.end
        }

        // 6: the buffer is exactly covered.
        let dataLength = bytes.count - 8 - headerLength
        if expected > dataLength { throw .truncatedData(expected: expected, actual: dataLength) }
        if expected < dataLength { throw .trailingBytes(count: dataLength - expected) }

        let base = 8 + headerLength
        let tensors = entries.map { entry in
            TensorInfo(name: entry.name, dtype: entry.dtype, shape: entry.shape, file: path,
                       byteRange: base + entry.begin..<base + entry.end)
        }
        return (headerLength, tensors, metadata)
    }

    private static func entry(name: String, value: JSONValue, position: Int) throws(SafetensorsProblem) -> Entry {
        guard case .object(let fields) = value else { throw .entryNotObject(tensor: name) }
        for (field, _) in fields where !["dtype", "shape", "data_offsets"].contains(field) {
            throw .unexpectedField(tensor: name, field: field)
        }
        guard let dtypeValue = value["dtype"] else { throw .missingField(tensor: name, field: "dtype") }
        guard let shapeValue = value["shape"] else { throw .missingField(tensor: name, field: "shape") }
        guard let offsetsValue = value["data_offsets"] else { throw .missingField(tensor: name, field: "data_offsets") }

        guard case .string(let dtypeName) = dtypeValue else { throw .invalidField(tensor: name, field: "dtype") }
        guard let dtype = DType(rawValue: dtypeName), dtype.isSafetensorsType else {
            throw .unknownDType(tensor: name, dtype: dtypeName)
        }
        guard case .array(let shapeItems) = shapeValue else { throw .invalidField(tensor: name, field: "shape") }
        var shape: [Int] = []
        shape.reserveCapacity(shapeItems.count)
        for item in shapeItems { shape.append(try integer(item, tensor: name, field: "shape")) }
        guard case .array(let offsetItems) = offsetsValue, offsetItems.count == 2 else {
            throw .invalidField(tensor: name, field: "data_offsets")
        }
        let begin = try integer(offsetItems[0], tensor: name, field: "data_offsets")
        let end = try integer(offsetItems[1], tensor: name, field: "data_offsets")
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end, headerPosition: position)
    }

    private static func integer(_ value: JSONValue, tensor: String, field: String) throws(SafetensorsProblem) -> Int {
        switch value {
        case .integer(let number):
            guard number >= 0, number <= maxHeaderInteger else { throw .invalidNumber(tensor: tensor, field: field) }
            return number
        case .number:
            throw .invalidNumber(tensor: tensor, field: field)
        default:
            throw .invalidField(tensor: tensor, field: field)
        }
    }
}
