/// A strict RFC 8259 JSON parser from UTF-8 bytes into `JSONValue`.
///
/// Rejects invalid UTF-8 (anywhere in the text), duplicate object keys, unknown escapes, unpaired
/// `\uXXXX` surrogates, unescaped control characters, malformed numbers and anything but JSON
/// whitespace after the value. Object members keep document order. Integers without fraction or
/// exponent that fit `Int` become `.integer`; every other number `.number` (non-finite ones are
/// rejected). Nesting is limited to `maxDepth` levels, so recursion is bounded and no input can
/// crash the parser, and what the values hold is charged to an `AllocationBudget` (by default
/// `AllocationBudget.json(size:)` of the text), so no input can allocate out of proportion to
/// its size. Errors carry the byte offset into `bytes`.
public struct JSONParser {
    /// The default nesting limit.
    public static let defaultMaxDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private let maxDepth: Int
    private var position = 0
    private var budget: AllocationBudget

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int, budget: AllocationBudget) {
        self.bytes = bytes
        self.maxDepth = maxDepth
        self.budget = budget
    }

    /// Parses one JSON value surrounded by optional whitespace; `budget` nil: `AllocationBudget.json(size:)`.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth,
                             budget: AllocationBudget? = nil) throws(JSONProblem) -> JSONValue {
        if let bad = firstInvalidUTF8(bytes) { throw .invalidUTF8(offset: bad) }
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth, budget: budget ?? .json(size: bytes.count))
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw .trailingData(offset: parser.position) }
        return value
    }

    /// Parses one JSON value from an array of bytes.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, budget: AllocationBudget? = nil) throws(JSONProblem) -> JSONValue {
        let result: Result<JSONValue, JSONProblem> = bytes.withUnsafeBytes { raw in
            do throws(JSONProblem) { return .success(try parse(raw, maxDepth: maxDepth, budget: budget)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses one JSON value from text.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONProblem) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    /// The offset of the first byte that is not part of well-formed UTF-8 (no overlongs, no
    /// surrogates, nothing above U+10FFFF), or nil when all of `bytes` is valid.
    public static func firstInvalidUTF8(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let lead = bytes[index]
            if lead < 0x80 { index += 1; continue }
            let length: Int
            var lower: UInt8 = 0x80, upper: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return index
            }
            guard count - index >= length else { return index }
            let second = bytes[index + 1]
            guard second >= lower, second <= upper else { return index }
            for next in 2..<length where bytes[index + next] & 0xC0 != 0x80 { return index }
            index += length
        }
        return nil
    }

    // MARK: - Grammar

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private func peek() throws(JSONProblem) -> UInt8 {
        guard position < bytes.count else { throw .unexpectedEnd(offset: position) }
        return bytes[position]
    }

    /// Charges `bytes` of values built at the current position to the budget.
    private mutating func charge(_ bytes: Int) throws(JSONProblem) {
        guard budget.charge(bytes) else { throw .allocationBudget(limit: budget.limit, offset: position) }
    }

    private mutating func parseValue(depth: Int) throws(JSONProblem) -> JSONValue {
        try charge(MemoryLayout<JSONValue>.stride)
        let byte = try peek()
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw .unexpectedByte(byte, offset: position)
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONProblem) {
        let text = UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for expected in text {
            let byte = try peek()
            guard byte == expected else { throw .unexpectedByte(byte, offset: position) }
            position += 1
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONProblem) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth, offset: position) }
        position += 1  // {
        var members: [(String, JSONValue)] = []
        // Keys compare by their bytes, as JSON defines: Swift's String equality would merge
        // canonically equivalent spellings (precomposed vs combining accents).
        var seen: Set<[UInt8]> = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "}") { position += 1; return .object(members) }
        while true {
            skipWhitespace()
            let keyOffset = position
            let byte = try peek()
            guard byte == UInt8(ascii: "\"") else { throw .unexpectedByte(byte, offset: position) }
            let key = try parseString()
            // The member's key and name (a String and its copy in `seen`) beside the value.
            try charge(MemoryLayout<(String, JSONValue)>.stride - MemoryLayout<JSONValue>.stride + 32 + key.utf8.count)
            guard seen.insert(Array(key.utf8)).inserted else { throw .duplicateKey(key, offset: keyOffset) }
            skipWhitespace()
            let colon = try peek()
            guard colon == UInt8(ascii: ":") else { throw .unexpectedByte(colon, offset: position) }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            let next = try peek()
            position += 1
            switch next {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "}"): return .object(members)
            default: throw .unexpectedByte(next, offset: position - 1)
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONProblem) -> JSONValue {
        guard depth <= maxDepth else { throw .tooDeep(limit: maxDepth, offset: position) }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if try peek() == UInt8(ascii: "]") { position += 1; return .array(elements) }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            let next = try peek()
            position += 1
            switch next {
            case UInt8(ascii: ","): continue
            case UInt8(ascii: "]"): return .array(elements)
            default: throw .unexpectedByte(next, offset: position - 1)
            }
        }
    }

    /// Parses a string starting at its opening quote; the input is already known to be UTF-8.
    private mutating func parseString() throws(JSONProblem) -> String {
        position += 1  // "
        var output: [UInt8] = []
        while true {
            let byte = try peek()
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                try charge(output.count)
                return String(decoding: output, as: UTF8.self)
            case UInt8(ascii: "\\"):
                let escapeOffset = position
                position += 1
                let kind = try peek()
                position += 1
                switch kind {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(kind)
                case UInt8(ascii: "b"): output.append(0x08)
                case UInt8(ascii: "f"): output.append(0x0C)
                case UInt8(ascii: "n"): output.append(0x0A)
                case UInt8(ascii: "r"): output.append(0x0D)
                case UInt8(ascii: "t"): output.append(0x09)
                case UInt8(ascii: "u"):
                    let unit = try parseHex4(escapeOffset: escapeOffset)
                    var scalarValue = UInt32(unit)
                    if (0xDC00...0xDFFF).contains(unit) { throw .unpairedSurrogate(offset: escapeOffset) }
                    if (0xD800...0xDBFF).contains(unit) {
                        guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"),
                              bytes[position + 1] == UInt8(ascii: "u")
                        else { throw .unpairedSurrogate(offset: escapeOffset) }
                        let lowOffset = position
                        position += 2
                        let low = try parseHex4(escapeOffset: lowOffset)
                        guard (0xDC00...0xDFFF).contains(low) else { throw .unpairedSurrogate(offset: escapeOffset) }
                        scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(scalarValue) else { throw .invalidEscape(offset: escapeOffset) }
                    output.append(contentsOf: String(scalar).utf8)
                default:
                    throw .invalidEscape(offset: escapeOffset)
                }
            case 0x00..<0x20:
                throw .controlCharacter(offset: position)
            default:
                output.append(byte)
                position += 1
            }
        }
    }

    private mutating func parseHex4(escapeOffset: Int) throws(JSONProblem) -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard position < bytes.count else { throw .unexpectedEnd(offset: position) }
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .invalidEscape(offset: escapeOffset)
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONProblem) -> JSONValue {
        let start = position
        var isInteger = true
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count else { throw .unexpectedEnd(offset: position) }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else if skipDigits() == 0 {
            throw .invalidNumber(offset: start)
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard skipDigits() > 0 else { throw .invalidNumber(offset: start) }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard skipDigits() > 0 else { throw .invalidNumber(offset: start) }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        if isInteger, let value = Int(text) { return .integer(value) }
        guard let value = Double(text) else { throw .invalidNumber(offset: start) }
        guard value.isFinite else { throw .numberOutOfRange(offset: start) }
        return .number(value)
    }

    /// Skips decimal digits and returns how many there were.
    private mutating func skipDigits() -> Int {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            position += 1
        }
        return position - start
    }
}
