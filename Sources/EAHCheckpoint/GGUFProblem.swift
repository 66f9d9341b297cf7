import EAHCore

/// What is wrong with a GGUF file (reading) or with a request to write one (usage).
///
/// Truncation inside the header is reported as `FileProblem.truncated`. Cases starting with
/// `planned`/`writer` are usage errors raised by `GGUFWriter`.
public enum GGUFProblem: CheckpointProblem, Equatable {
    /// The first four bytes are not `GGUF`.
    case badMagic([UInt8])
    /// The version field reads as a byte-swapped number: the file was written big-endian.
    case bigEndian(version: UInt32)
    case unsupportedVersion(UInt32)
    /// `tensor_count` cannot fit in the remaining bytes.
    case tooManyTensors(count: UInt64, remainingBytes: Int)
    /// `metadata_kv_count` cannot fit in the remaining bytes.
    case tooManyMetadataEntries(count: UInt64, remainingBytes: Int)
    /// A string longer than 1 GiB (`what` says which).
    case stringTooLong(what: String, length: UInt64)
    /// An array of more than 2^30 elements.
    case arrayTooLong(key: String, count: UInt64)
    case nestedArray(key: String)
    /// The metadata arrays hold more elements in total than `GGUFReader.maximumMetadataElements`.
    case tooManyMetadataElements(key: String, total: Int, limit: Int)
    case unknownValueType(key: String, code: UInt32)
    /// The metadata entry at `index` (0-based) has an empty key.
    case emptyKey(index: Int)
    case duplicateKey(String)
    /// `general.alignment` is stored with another type than u32.
    case alignmentNotUInt32(MetadataKind)
    /// `general.alignment` is zero or not a power of two.
    case invalidAlignment(UInt32)
    /// The tensor info at `index` (0-based) has an empty name.
    case emptyTensorName(index: Int)
    /// A tensor name of 64 bytes or more (ggml's limit is 63).
    case tensorNameTooLong(name: String, bytes: Int)
    case duplicateTensorName(String)
    case tooManyDimensions(tensor: String, count: UInt32)
    /// A dimension above Int64.max, or an element or byte count that overflows.
    case invalidDimensions(tensor: String, ne: [UInt64])
    /// A ggml type id ggml has removed (4, 5, 31–33, 36–38).
    case removedType(tensor: String, id: UInt32)
    case unknownType(tensor: String, id: UInt32)
    /// The innermost dimension (`ne[0]`) is not a whole number of blocks.
    case partialBlock(tensor: String, type: DType, rowLength: Int)
    case misalignedOffset(tensor: String, offset: UInt64, alignment: Int)
    /// The offset is not where tensors stored in info order, each padded, would put it.
    case unexpectedOffset(tensor: String, offset: UInt64, expected: Int)
    /// The tensor's bytes end past the end of the file.
    case dataOutOfBounds(tensor: String, offset: UInt64, byteCount: Int, fileSize: Int)

    // Writer (usage) problems.
    case plannedNameInvalid(String)
    case plannedDuplicateTensor(String)
    case plannedTypeNotStorable(tensor: String, type: DType)
    case plannedTooManyDimensions(tensor: String, count: Int)
    case plannedShapeInvalid(tensor: String, shape: [Int], type: DType)
    case plannedAlignmentInvalid(Int)
    case plannedMetadataInvalid(key: String, reason: String)
    /// `write` received `actual` bytes for a tensor of `expected` bytes.
    case writerWrongByteCount(tensor: String, expected: Int, actual: Int)
    /// `write` was called after every planned tensor was written.
    case writerTooManyTensors(planned: Int)
    /// `finish` was called before `tensor` (and any after it) was written.
    case writerMissingTensor(String)
    /// The writer already finished or gave up after an error.
    case writerClosed

    public var message: String {
        switch self {
        case .badMagic(let bytes):
            "not a GGUF file (starts with \(bytes.map { String($0, radix: 16) }.joined(separator: " ")) instead of 47 47 55 46 \"GGUF\")"
        case .bigEndian(let version):
            "GGUF file is big-endian (version field reads 0x\(String(version, radix: 16)))"
        case .unsupportedVersion(let version):
            "GGUF version \(version) is not supported (only 2 and 3 are)"
        case .tooManyTensors(let count, let remaining):
            "tensor count \(count) cannot fit in the remaining \(remaining) bytes"
        case .tooManyMetadataEntries(let count, let remaining):
            "metadata entry count \(count) cannot fit in the remaining \(remaining) bytes"
        case .stringTooLong(let what, let length):
            "\(what) claims \(length) bytes, more than the 1 GiB limit"
        case .arrayTooLong(let key, let count):
            "metadata array '\(key)' claims \(count) elements, more than the 2^30 limit"
        case .tooManyMetadataElements(let key, let total, let limit):
            "metadata arrays hold \(total) elements by the end of '\(key)', more than the \(limit) this reader accepts in one file"
        case .nestedArray(let key):
            "metadata '\(key)' is an array of arrays, which GGUF readers reject"
        case .unknownValueType(let key, let code):
            "metadata '\(key)' has unknown value type \(code) (known: 0–12)"
        case .emptyKey(let index):
            "metadata entry \(index) has an empty key"
        case .duplicateKey(let key):
            "metadata key '\(key)' appears more than once"
        case .alignmentNotUInt32(let kind):
            "general.alignment is stored as \(kind) instead of uint32"
        case .invalidAlignment(let value):
            "general.alignment is \(value), not a non-zero power of two"
        case .emptyTensorName(let index):
            "tensor \(index) has an empty name"
        case .tensorNameTooLong(let name, let bytes):
            "tensor name '\(name)' is \(bytes) bytes; GGUF allows at most 63"
        case .duplicateTensorName(let name):
            "tensor '\(name)' appears more than once"
        case .tooManyDimensions(let tensor, let count):
            "tensor '\(tensor)' has \(count) dimensions; GGUF allows at most 4"
        case .invalidDimensions(let tensor, let ne):
            "tensor '\(tensor)' has dimensions \(ne) whose element or byte count overflows"
        case .removedType(let tensor, let id):
            "tensor '\(tensor)' uses ggml type \(id), which ggml has removed"
        case .unknownType(let tensor, let id):
            "tensor '\(tensor)' uses unknown ggml type \(id)"
        case .partialBlock(let tensor, let type, let rowLength):
            "tensor '\(tensor)' has rows of \(rowLength) elements, not a multiple of the \(type.name) block size \(type.blockElements)"
        case .misalignedOffset(let tensor, let offset, let alignment):
            "tensor '\(tensor)' data offset \(offset) is not a multiple of the alignment \(alignment)"
        case .unexpectedOffset(let tensor, let offset, let expected):
            "tensor '\(tensor)' data offset is \(offset) but tensors stored in order put it at \(expected)"
        case .dataOutOfBounds(let tensor, let offset, let byteCount, let fileSize):
            "tensor '\(tensor)' data (\(byteCount) bytes at data offset \(offset)) is not within the file's \(fileSize) bytes"
        case .plannedNameInvalid(let name):
            "tensor name '\(name)' is empty or \(name.utf8.count) bytes long; GGUF names are 1 to 63 bytes"
        case .plannedDuplicateTensor(let name):
            "tensor '\(name)' is planned more than once"
        case .plannedTypeNotStorable(let tensor, let type):
            "tensor '\(tensor)' has type \(type.name), which GGUF cannot store"
        case .plannedTooManyDimensions(let tensor, let count):
            "tensor '\(tensor)' has \(count) dimensions; GGUF allows at most 4"
        case .plannedShapeInvalid(let tensor, let shape, let type):
            "tensor '\(tensor)' shape \(shape) cannot be stored as \(type.name) (negative, overflowing or rows not a multiple of \(type.blockElements))"
        case .plannedAlignmentInvalid(let alignment):
            "alignment \(alignment) is not a non-zero power of two"
        case .plannedMetadataInvalid(let key, let reason):
            "metadata '\(key)' cannot be written: \(reason)"
        case .writerWrongByteCount(let tensor, let expected, let actual):
            "tensor '\(tensor)' needs \(expected) bytes but \(actual) were given"
        case .writerTooManyTensors(let planned):
            "more tensors written than the \(planned) planned"
        case .writerMissingTensor(let tensor):
            "finished before tensor '\(tensor)' was written"
        case .writerClosed:
            "the GGUF writer has already finished or failed"
        }
    }

    public var fix: String? {
        switch self {
        case .badMagic: "pass a .gguf file"
        case .bigEndian: "convert the file to little-endian with gguf-py (gguf-convert-endian)"
        case .unsupportedVersion(1): "GGUF v1 is obsolete; re-convert the model with a current llama.cpp"
        case .unsupportedVersion: "use a GGUF v2 or v3 file"
        case .tooManyTensors, .tooManyMetadataEntries, .stringTooLong, .arrayTooLong, .tooManyMetadataElements, .dataOutOfBounds:
            "the file is corrupt or truncated; download or convert it again"
        case .nestedArray, .unknownValueType, .emptyKey, .duplicateKey, .alignmentNotUInt32, .invalidAlignment,
             .emptyTensorName, .tensorNameTooLong, .duplicateTensorName, .tooManyDimensions, .invalidDimensions,
             .partialBlock, .misalignedOffset, .unexpectedOffset:
            "the file was written by a non-conforming tool; re-convert it with llama.cpp's gguf-py"
        case .removedType: "re-quantize the model with a current llama.cpp"
        case .unknownType: "the file may need a newer tool; re-quantize it to a common type such as Q8_0"
        case .plannedNameInvalid: "rename the tensor to at most 63 bytes"
        case .plannedDuplicateTensor: "give every tensor a distinct name"
        case .plannedTypeNotStorable: "convert the tensor to F32, F16 or BF16 first"
        case .plannedTooManyDimensions: "reshape the tensor to at most 4 dimensions"
        case .plannedShapeInvalid: "use an innermost dimension that is a multiple of the block size, or a plain type"
        case .plannedAlignmentInvalid: "use an alignment such as 32 (the default) or 64"
        case .plannedMetadataInvalid: "fix or drop that metadata entry"
        case .writerWrongByteCount, .writerTooManyTensors, .writerMissingTensor, .writerClosed:
            "write each planned tensor exactly once, in plan order, then finish"
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .plannedNameInvalid, .plannedDuplicateTensor, .plannedTypeNotStorable, .plannedTooManyDimensions,
             .plannedShapeInvalid, .plannedAlignmentInvalid, .plannedMetadataInvalid, .writerWrongByteCount,
             .writerTooManyTensors, .writerMissingTensor, .writerClosed:
            true
        default:
            false
        }
    }
}
