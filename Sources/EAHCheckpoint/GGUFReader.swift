import EAHCore

/// A GGUF v2 or v3 file: metadata in file order, tensor infos and zero-copy tensor bytes.
///
/// Opening validates the whole header the way ggml's reader does (see `GGUFProblem`): counts
/// are checked against the remaining bytes before anything is allocated, offsets must be the
/// running padded sum, and every tensor's bytes must lie inside the file. Shapes are row-major
/// (GGUF's `ne` reversed). Tensors of types `Dequantizer` cannot decode are still listed.
public final class GGUFReader: CheckpointReader {
    public var format: CheckpointFormat { .gguf }
    public var path: String { file.path }
    public let file: MappedFile
    /// The file's GGUF version (2 or 3).
    public let version: Int
    /// The data alignment: `general.alignment` or 32.
    public let alignment: Int
    /// Absolute offset of the tensor data section.
    public let dataOffset: Int
    public let tensors: [TensorInfo]
    public let metadata: [MetadataEntry]

    /// GGUF's default data alignment.
    public static let defaultAlignment = 32
    /// ggml's limit on string lengths (`GGUF_MAX_STRING_LENGTH`).
    public static let maximumStringLength: UInt64 = 1 << 30
    /// ggml's limit on array lengths (`GGUF_MAX_ARRAY_ELEMENTS`).
    public static let maximumArrayCount: UInt64 = 1 << 30
    /// Total elements of all metadata arrays in one file (ours, not ggml's): each costs memory
    /// well beyond its bytes in the file, and the largest vocabularies (256 K tokens with scores,
    /// types and merges) hold about 1.3 M.
    public static let maximumMetadataElements = 1 << 22
    /// Tensor names must be shorter than this many bytes (`GGML_MAX_NAME`).
    public static let maximumNameBytes = 64
    /// ggml type ids that existed once and have been removed.
    static let removedTypeIDs: Set<UInt32> = [4, 5, 31, 32, 33, 36, 37, 38]

    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        var parser = Parser(reader: ByteReader(file.bytes), path: file.path)
        let header = try parser.parse()
        version = header.version
        alignment = header.alignment
        dataOffset = header.dataOffset
        metadata = header.metadata
        tensors = header.tensors
    }

    public convenience init(path: String) throws(CheckpointError) {
        try self.init(file: MappedFile(path: path))
    }

    public func bytes(of tensor: TensorInfo) throws(CheckpointError) -> TensorBytes {
        let range = tensor.byteRange
        guard range.lowerBound >= 0, range.upperBound <= file.count else {
            // Only reachable with a TensorInfo from another file.
            throw CheckpointError(path: path, problem: GGUFProblem.dataOutOfBounds(
                tensor: tensor.name, offset: UInt64(max(0, range.lowerBound - dataOffset)), byteCount: range.count, fileSize: file.count))
        }
        return TensorBytes(file: file, range: range)
    }

    private struct Header {
        var version: Int
        var alignment: Int
        var dataOffset: Int
        var metadata: [MetadataEntry]
        var tensors: [TensorInfo]
    }

    /// Reads the header; every failure becomes a `CheckpointError` about `path`.
    private struct Parser {
        var reader: ByteReader
        let path: String
        /// Metadata array elements read so far (see `maximumMetadataElements`).
        var metadataElements = 0

        func fail(_ problem: GGUFProblem) -> CheckpointError {
            CheckpointError(path: path, problem: problem)
        }

        mutating func read<T: FixedWidthInteger>(_ type: T.Type, _ what: @autoclosure () -> String) throws(CheckpointError) -> T {
            do { return try reader.read(type, for: what()) } catch { throw CheckpointError(path: path, problem: error) }
        }

        mutating func bytes(_ count: Int, _ what: String) throws(CheckpointError) -> UnsafeRawBufferPointer {
            do { return try reader.readBytes(count, for: what) } catch { throw CheckpointError(path: path, problem: error) }
        }

        func require(_ count: Int, _ what: String) throws(CheckpointError) {
            do { try reader.require(count, for: what) } catch { throw CheckpointError(path: path, problem: error) }
        }

        /// A length-prefixed string; returns the text and its byte length.
        mutating func string(_ what: @autoclosure () -> String) throws(CheckpointError) -> (text: String, bytes: Int) {
            let length = try read(UInt64.self, "length of \(what())")
            guard length <= GGUFReader.maximumStringLength else { throw fail(.stringTooLong(what: what(), length: length)) }
            let raw = try bytes(Int(length), what())
            return (String(decoding: raw, as: UTF8.self), Int(length))
        }

        mutating func parse() throws(CheckpointError) -> Header {
            let magic = try bytes(4, "GGUF magic")
            guard Array(magic) == Array("GGUF".utf8) else { throw fail(.badMagic(Array(magic))) }
            let rawVersion = try read(UInt32.self, "GGUF version")
            if rawVersion == 0 || rawVersion == 1 || rawVersion > 3 {
                if rawVersion != 0, rawVersion & 0xffff == 0 { throw fail(.bigEndian(version: rawVersion)) }
                throw fail(.unsupportedVersion(rawVersion))
            }
            let tensorCount = try read(UInt64.self, "tensor count")
            let entryCount = try read(UInt64.self, "metadata entry count")
            // Smallest records: tensor info 8 + 1 + 4 + 4 + 8 bytes, metadata entry 8 + 1 + 4 + 1.
            guard tensorCount <= UInt64(reader.remaining / 25) else {
                throw fail(.tooManyTensors(count: tensorCount, remainingBytes: reader.remaining))
            }
            guard entryCount <= UInt64(reader.remaining / 14) else {
                throw fail(.tooManyMetadataEntries(count: entryCount, remainingBytes: reader.remaining))
            }

            var metadata: [MetadataEntry] = []
            metadata.reserveCapacity(Int(entryCount))
            var keys = Set<String>()
            var alignment = GGUFReader.defaultAlignment
            for index in 0..<Int(entryCount) {
                let key = try string("key of metadata entry \(index)").text
                guard !key.isEmpty else { throw fail(.emptyKey(index: index)) }
                guard keys.insert(key).inserted else { throw fail(.duplicateKey(key)) }
                let code = try read(UInt32.self, "value type of '\(key)'")
                let value = try value(code: code, key: key)
                if key == "general.alignment" {
                    guard case .uint32(let declared) = value else { throw fail(.alignmentNotUInt32(value.kind)) }
                    guard declared != 0, declared & (declared - 1) == 0 else { throw fail(.invalidAlignment(declared)) }
                    alignment = Int(declared)
                }
                metadata.append(MetadataEntry(key: key, value: value))
            }

            struct Pending { var name: String; var type: DType; var ne: [Int]; var offset: UInt64; var byteCount: Int }
            var pending: [Pending] = []
            pending.reserveCapacity(Int(tensorCount))
            var names = Set<String>()
            var expectedOffset = 0
            for index in 0..<Int(tensorCount) {
                let (name, nameBytes) = try string("name of tensor \(index)")
                guard nameBytes > 0 else { throw fail(.emptyTensorName(index: index)) }
                guard nameBytes < GGUFReader.maximumNameBytes else { throw fail(.tensorNameTooLong(name: name, bytes: nameBytes)) }
                guard names.insert(name).inserted else { throw fail(.duplicateTensorName(name)) }
                let dimensionCount = try read(UInt32.self, "dimension count of '\(name)'")
                guard dimensionCount <= 4 else { throw fail(.tooManyDimensions(tensor: name, count: dimensionCount)) }
                var rawNE: [UInt64] = []
                for dimension in 0..<Int(dimensionCount) {
                    rawNE.append(try read(UInt64.self, "dimension \(dimension) of '\(name)'"))
                }
                let typeID = try read(UInt32.self, "type of '\(name)'")
                let offset = try read(UInt64.self, "data offset of '\(name)'")

                guard rawNE.allSatisfy({ $0 <= UInt64(Int64.max) }) else { throw fail(.invalidDimensions(tensor: name, ne: rawNE)) }
                let ne = rawNE.map { Int($0) }
                guard let elementCount = DType.elementCount(ne) else { throw fail(.invalidDimensions(tensor: name, ne: rawNE)) }
                guard let type = Int32(exactly: typeID).flatMap({ DType(ggmlTypeID: Int($0)) }) else {
                    if GGUFReader.removedTypeIDs.contains(typeID) { throw fail(.removedType(tensor: name, id: typeID)) }
                    throw fail(.unknownType(tensor: name, id: typeID))
                }
                let rowLength = ne.first ?? 1
                guard rowLength % type.blockElements == 0 else {
                    throw fail(.partialBlock(tensor: name, type: type, rowLength: rowLength))
                }
                guard let byteCount = type.byteCount(elements: elementCount),
                      let padded = GGUFReader.padded(byteCount, to: alignment) else {
                    throw fail(.invalidDimensions(tensor: name, ne: rawNE))
                }
                guard offset % UInt64(alignment) == 0 else {
                    throw fail(.misalignedOffset(tensor: name, offset: offset, alignment: alignment))
                }
                guard offset == UInt64(expectedOffset) else {
                    throw fail(.unexpectedOffset(tensor: name, offset: offset, expected: expectedOffset))
                }
                let (next, overflow) = expectedOffset.addingReportingOverflow(padded)
                guard !overflow else { throw fail(.invalidDimensions(tensor: name, ne: rawNE)) }
                expectedOffset = next
                pending.append(Pending(name: name, type: type, ne: ne, offset: offset, byteCount: byteCount))
            }

            let fileSize = reader.bytes.count
            var dataOffset = reader.offset
            if tensorCount > 0 {
                dataOffset = GGUFReader.padded(reader.offset, to: alignment) ?? Int.max
            }
            var tensors: [TensorInfo] = []
            tensors.reserveCapacity(pending.count)
            for tensor in pending {
                // offset == expectedOffset fits in Int; dataOffset ≤ file size + alignment.
                let (start, startOverflow) = dataOffset.addingReportingOverflow(Int(tensor.offset))
                let (end, endOverflow) = start.addingReportingOverflow(tensor.byteCount)
                guard !startOverflow, !endOverflow, end <= fileSize else {
                    throw fail(.dataOutOfBounds(tensor: tensor.name, offset: tensor.offset, byteCount: tensor.byteCount, fileSize: fileSize))
                }
                tensors.append(TensorInfo(name: tensor.name, dtype: tensor.type, shape: tensor.ne.reversed(), file: path, byteRange: start..<end))
            }
            return Header(version: Int(rawVersion), alignment: alignment, dataOffset: dataOffset, metadata: metadata, tensors: tensors)
        }

        /// One value of type `code`; arrays hold scalars or strings only.
        mutating func value(code: UInt32, key: String) throws(CheckpointError) -> MetadataValue {
            guard let kind = MetadataKind(rawValue: code) else { throw fail(.unknownValueType(key: key, code: code)) }
            if kind == .array {
                let elementCode = try read(UInt32.self, "element type of '\(key)'")
                guard elementCode != MetadataKind.array.rawValue else { throw fail(.nestedArray(key: key)) }
                guard let elementKind = MetadataKind(rawValue: elementCode) else {
                    throw fail(.unknownValueType(key: key, code: elementCode))
                }
                let count = try read(UInt64.self, "element count of '\(key)'")
                guard count <= GGUFReader.maximumArrayCount else { throw fail(.arrayTooLong(key: key, count: count)) }
                try require(Int(count) * Self.minimumSize(of: elementKind), "\(count) elements of '\(key)'")
                metadataElements += Int(count)
                guard metadataElements <= GGUFReader.maximumMetadataElements else {
                    throw fail(.tooManyMetadataElements(key: key, total: metadataElements, limit: GGUFReader.maximumMetadataElements))
                }
                var elements: [MetadataValue] = []
                elements.reserveCapacity(Int(count))
                for index in 0..<Int(count) {
                    elements.append(try scalar(elementKind, key: key, what: "element \(index) of '\(key)'"))
                }
                return .array(element: elementKind, elements)
            }
            return try scalar(kind, key: key, what: "value of '\(key)'")
        }

        mutating func scalar(_ kind: MetadataKind, key: String, what: @autoclosure () -> String) throws(CheckpointError) -> MetadataValue {
            switch kind {
            case .uint8: return .uint8(try read(UInt8.self, what()))
            case .int8: return .int8(try read(Int8.self, what()))
            case .uint16: return .uint16(try read(UInt16.self, what()))
            case .int16: return .int16(try read(Int16.self, what()))
            case .uint32: return .uint32(try read(UInt32.self, what()))
            case .int32: return .int32(try read(Int32.self, what()))
            case .float32: return .float32(Float(bitPattern: try read(UInt32.self, what())))
            case .bool: return .bool(try read(UInt8.self, what()) != 0)
            case .string: return .string(try string(what()).text)
            case .uint64: return .uint64(try read(UInt64.self, what()))
            case .int64: return .int64(try read(Int64.self, what()))
            case .float64: return .float64(Double(bitPattern: try read(UInt64.self, what())))
            case .array: throw fail(.nestedArray(key: key))
            }
        }

        static func minimumSize(of kind: MetadataKind) -> Int {
            switch kind {
            case .uint8, .int8, .bool: 1
            case .uint16, .int16: 2
            case .uint32, .int32, .float32: 4
            case .uint64, .int64, .float64, .string, .array: 8
            }
        }
    }

    /// `value` rounded up to a multiple of `alignment`, or nil on overflow.
    static func padded(_ value: Int, to alignment: Int) -> Int? {
        let remainder = value % alignment
        guard remainder != 0 else { return value }
        let (result, overflow) = value.addingReportingOverflow(alignment - remainder)
        return overflow ? nil : result
    }
}
