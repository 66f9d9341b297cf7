/// What is wrong with a safetensors file (reading), or with a request to write one.
///
/// Reader cases follow the reference crate's checks in its order (formats.md §1.4); offsets in
/// tensor cases are relative to the byte buffer, as in the header.
public enum SafetensorsProblem: CheckpointProblem, Equatable {
    // MARK: Reading
    /// The file is shorter than the 8-byte header length.
    case headerTooSmall(fileLength: Int)
    /// The header length exceeds the 100,000,000-byte limit.
    case headerTooLarge(headerLength: UInt64)
    /// 8 + header length runs past the end of the file.
    case headerPastEnd(headerLength: UInt64, fileLength: Int)
    /// The header is not valid UTF-8 (offset into the file).
    case headerNotUTF8(offset: Int)
    /// The header is not valid JSON (offset relative to the header start).
    case invalidJSON(JSONProblem)
    /// The header is valid JSON but not an object.
    case headerNotObject
    /// A key appears twice in a header object (a tensor name, or a field of an entry).
    case duplicateKey(String)
    /// `__metadata__` is not an object of strings (`key` is the offending entry, if any).
    case invalidMetadata(key: String?)
    /// A tensor entry is not an object.
    case entryNotObject(tensor: String)
    /// A tensor entry lacks `dtype`, `shape` or `data_offsets`.
    case missingField(tensor: String, field: String)
    /// A tensor entry has a field other than `dtype`, `shape` and `data_offsets`.
    case unexpectedField(tensor: String, field: String)
    /// A field has the wrong JSON type or arity.
    case invalidField(tensor: String, field: String)
    /// A shape or offset number is negative, fractional or above 2^53.
    case invalidNumber(tensor: String, field: String)
    /// The dtype string is not one safetensors defines.
    case unknownDType(tensor: String, dtype: String)
    /// The element count or bit count of the shape overflows.
    case shapeOverflow(tensor: String)
    /// A sub-byte tensor whose bits do not fill whole bytes.
    case misalignedSlice(tensor: String)
    /// The tensor starts after the previous one ends (or after 0 for the first): a hole.
    case gap(tensor: String, begin: Int, expected: Int)
    /// The tensor starts before the previous one ends.
    case overlap(tensor: String, begin: Int, expected: Int)
    /// `data_offsets` ends before it begins.
    case endBeforeBegin(tensor: String, begin: Int, end: Int)
    /// `end - begin` differs from the dtype and shape's byte size.
    case sizeMismatch(tensor: String, expected: Int, actual: Int)
    /// The header describes more data than the file holds.
    case truncatedData(expected: Int, actual: Int)
    /// Bytes follow the last tensor (the file may be a polyglot).
    case trailingBytes(count: Int)
    /// `bytes(of:)` was given a tensor that is not in this file.
    case notInFile(tensor: String)

    // MARK: Writing (usage errors)
    /// safetensors has no name for this dtype (quantized types, C128).
    case unsupportedDType(tensor: String, dtype: String)
    /// Two plans share a name.
    case duplicateTensorName(String)
    /// A plan's name is `__metadata__`.
    case reservedName
    /// A plan's shape is negative, overflows or is not whole bytes.
    case invalidShape(tensor: String)
    /// A metadata key is given twice.
    case duplicateMetadataKey(String)
    /// The header would exceed the 100,000,000-byte limit.
    case headerTooLargeToWrite(length: Int)
    /// A write did not carry the tensor's byte count.
    case wrongByteCount(tensor: String, expected: Int, actual: Int)
    /// More writes than tensors, or `finish()` before every tensor was written.
    case writeSequence(String)

    public var message: String {
        switch self {
        case .headerTooSmall(let length): "not a safetensors file: only \(length) bytes, fewer than the 8-byte header length"
        case .headerTooLarge(let length): "safetensors header length \(length) exceeds the 100,000,000-byte limit"
        case .headerPastEnd(let length, let file): "safetensors header length \(length) runs past the end of the \(file)-byte file"
        case .headerNotUTF8(let offset): "safetensors header is not valid UTF-8 (byte \(offset))"
        case .invalidJSON(let problem): "safetensors header is not valid JSON: \(problem.message)"
        case .headerNotObject: "safetensors header is not a JSON object"
        case .duplicateKey(let key): "safetensors header names \"\(key)\" twice"
        case .invalidMetadata(let key):
            key.map { "__metadata__ value of \"\($0)\" is not a string" } ?? "__metadata__ is not an object of strings"
        case .entryNotObject(let tensor): "tensor \"\(tensor)\": entry is not an object"
        case .missingField(let tensor, let field): "tensor \"\(tensor)\": missing \"\(field)\""
        case .unexpectedField(let tensor, let field): "tensor \"\(tensor)\": unexpected field \"\(field)\""
        case .invalidField(let tensor, let field): "tensor \"\(tensor)\": \"\(field)\" has the wrong type"
        case .invalidNumber(let tensor, let field): "tensor \"\(tensor)\": \"\(field)\" holds a negative, fractional or too large number"
        case .unknownDType(let tensor, let dtype): "tensor \"\(tensor)\": unknown dtype \"\(dtype)\""
        case .shapeOverflow(let tensor): "tensor \"\(tensor)\": shape size overflows"
        case .misalignedSlice(let tensor): "tensor \"\(tensor)\": sub-byte elements do not fill whole bytes"
        case .gap(let tensor, let begin, let expected): "tensor \"\(tensor)\": starts at \(begin), leaving a gap after \(expected)"
        case .overlap(let tensor, let begin, let expected): "tensor \"\(tensor)\": starts at \(begin), overlapping data that ends at \(expected)"
        case .endBeforeBegin(let tensor, let begin, let end): "tensor \"\(tensor)\": data_offsets end \(end) is before begin \(begin)"
        case .sizeMismatch(let tensor, let expected, let actual): "tensor \"\(tensor)\": needs \(expected) bytes but data_offsets span \(actual)"
        case .truncatedData(let expected, let actual): "file is truncated: the header describes \(expected) data bytes but \(actual) are present"
        case .trailingBytes(let count): "\(count) unexpected bytes follow the last tensor"
        case .notInFile(let tensor): "tensor \"\(tensor)\" is not in this file"
        case .unsupportedDType(let tensor, let dtype): "tensor \"\(tensor)\": safetensors cannot store dtype \(dtype)"
        case .duplicateTensorName(let name): "two tensors are named \"\(name)\""
        case .reservedName: "a tensor cannot be named \"__metadata__\""
        case .invalidShape(let tensor): "tensor \"\(tensor)\": invalid shape"
        case .duplicateMetadataKey(let key): "metadata key \"\(key)\" is given twice"
        case .headerTooLargeToWrite(let length): "the safetensors header would be \(length) bytes, above the 100,000,000-byte limit"
        case .wrongByteCount(let tensor, let expected, let actual): "tensor \"\(tensor)\": expected \(expected) bytes, got \(actual)"
        case .writeSequence(let text): text
        }
    }

    public var fix: String? {
        switch self {
        case .truncatedData: "download or copy the file again; it is incomplete"
        case .unsupportedDType: "convert the tensor to a plain dtype first, or write GGUF"
        case .headerTooSmall, .headerTooLarge, .headerPastEnd, .headerNotUTF8: "check this is a safetensors file"
        default: nil
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .notInFile, .unsupportedDType, .duplicateTensorName, .reservedName, .invalidShape, .duplicateMetadataKey,
             .headerTooLargeToWrite, .wrongByteCount, .writeSequence:
            true
        default:
            false
        }
    }
}
