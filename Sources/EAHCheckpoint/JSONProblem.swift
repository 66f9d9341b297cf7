/// Why a byte sequence is not strict RFC 8259 JSON; every case names the byte offset where
/// parsing stopped (relative to the start of the JSON text).
public enum JSONProblem: CheckpointProblem, Equatable {
    /// The text ended inside a value.
    case unexpectedEnd(offset: Int)
    /// A byte that cannot start or continue a value here.
    case unexpectedByte(UInt8, offset: Int)
    /// The bytes at `offset` are not well-formed UTF-8.
    case invalidUTF8(offset: Int)
    /// An unescaped control character (U+0000–U+001F) inside a string.
    case controlCharacter(offset: Int)
    /// A backslash escape that JSON does not define, or a malformed `\uXXXX`.
    case invalidEscape(offset: Int)
    /// A `\uXXXX` surrogate without its partner.
    case unpairedSurrogate(offset: Int)
    /// A number that does not follow the JSON grammar.
    case invalidNumber(offset: Int)
    /// A number too large for a double.
    case numberOutOfRange(offset: Int)
    /// An object names `key` twice.
    case duplicateKey(String, offset: Int)
    /// Arrays and objects nest deeper than `limit`.
    case tooDeep(limit: Int, offset: Int)
    /// Something other than whitespace follows the value.
    case trailingData(offset: Int)
    /// The values built up to `offset` already hold more than `limit` bytes (`AllocationBudget`).
    case allocationBudget(limit: Int, offset: Int)

    public var message: String {
        switch self {
        case .unexpectedEnd(let offset): "JSON text ends unexpectedly at byte \(offset)"
        case .unexpectedByte(let byte, let offset): "unexpected byte 0x\(String(byte, radix: 16)) in JSON at byte \(offset)"
        case .invalidUTF8(let offset): "JSON text is not valid UTF-8 at byte \(offset)"
        case .controlCharacter(let offset): "unescaped control character in a JSON string at byte \(offset)"
        case .invalidEscape(let offset): "invalid escape sequence in a JSON string at byte \(offset)"
        case .unpairedSurrogate(let offset): "unpaired UTF-16 surrogate escape in a JSON string at byte \(offset)"
        case .invalidNumber(let offset): "malformed JSON number at byte \(offset)"
        case .numberOutOfRange(let offset): "JSON number out of range at byte \(offset)"
        case .duplicateKey(let key, let offset): "duplicate JSON object key \"\(key)\" at byte \(offset)"
        case .tooDeep(let limit, let offset): "JSON nests deeper than \(limit) levels at byte \(offset)"
        case .trailingData(let offset): "unexpected data after the JSON value at byte \(offset)"
        case .allocationBudget(let limit, let offset):
            "the JSON values would take more than \(limit) bytes of memory (at byte \(offset)), out of proportion to the text; it is not a real file of this kind"
        }
    }

    /// The byte offset the problem was found at.
    public var offset: Int {
        switch self {
        case .unexpectedEnd(let o), .unexpectedByte(_, let o), .invalidUTF8(let o), .controlCharacter(let o),
             .invalidEscape(let o), .unpairedSurrogate(let o), .invalidNumber(let o), .numberOutOfRange(let o),
             .duplicateKey(_, let o), .tooDeep(_, let o), .trailingData(let o), .allocationBudget(_, let o):
            o
        }
    }
}
