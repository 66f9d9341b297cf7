import EAHCheckpoint
import EAHTestSupport
import Testing

@Suite struct JSONParserTests {
    private func problem(_ text: String) -> JSONProblem? {
        problem(Array(text.utf8))
    }

    private func problem(_ bytes: [UInt8]) -> JSONProblem? {
        do throws(JSONProblem) {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    /// Issue 14, Deliver 2 (total allocation per file): the values built from a text are charged
    /// to its budget, 64 MiB plus 16 bytes per byte of text by default.
    @Test func valuesAreChargedToTheAllocationBudget() throws {
        #expect(AllocationBudget.json(size: 1000).limit == 64 << 20 + 16_000)
        #expect(AllocationBudget.json(size: 1 << 40).limit == 2 << 30)
        let zeros = Array("[" + Array(repeating: "0", count: 1000).joined(separator: ",") + "]").map { UInt8($0.asciiValue!) }
        // 1001 values of MemoryLayout<JSONValue>.stride bytes each.
        let needed = 1001 * MemoryLayout<JSONValue>.stride
        #expect(throws: JSONProblem.allocationBudget(limit: needed - 1, offset: 1999)) {
            try JSONParser.parse(zeros, budget: AllocationBudget(limit: needed - 1))
        }
        #expect(try JSONParser.parse(zeros, budget: AllocationBudget(limit: needed)) == JSONParser.parse(zeros))
        // Strings count their bytes; keys theirs twice (the key and its entry in the duplicate check) and a member's overhead.
        let text = Array(#"{"key": "0123456789"}"#.utf8)
        let object = try JSONParser.parse(text)
        let exact = 2 * MemoryLayout<JSONValue>.stride + 10 + MemoryLayout<(String, JSONValue)>.stride - MemoryLayout<JSONValue>.stride + 32 + 3 + 3
        #expect(try JSONParser.parse(text, budget: AllocationBudget(limit: exact)) == object)
        #expect(throws: JSONProblem.allocationBudget(limit: exact - 1, offset: 20)) { try JSONParser.parse(text, budget: AllocationBudget(limit: exact - 1)) }
    }

    @Test func parsesAllValueKindsInOrder() throws {
        let value = try JSONParser.parse(#" {"b":[1,-2,3.5,1e2,true,false,null],"a":{"x":"y"},"":""} "#)
        #expect(value == .object([
            ("b", .array([.integer(1), .integer(-2), .number(3.5), .number(100), .bool(true), .bool(false), .null])),
            ("a", .object([("x", .string("y"))])),
            ("", .string("")),
        ]))
    }

    @Test func whitespaceAroundValueIsAllowed() throws {
        #expect(try JSONParser.parse("\t\r\n {} \n\t\r ") == .object([]))
        #expect(try JSONParser.parse(" [ ] ") == .array([]))
    }

    @Test func integersThatDoNotFitBecomeNumbers() throws {
        #expect(try JSONParser.parse("9223372036854775807") == .integer(Int.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .integer(Int.min))
        #expect(try JSONParser.parse("9223372036854775808") == .number(9223372036854775808.0))
        #expect(try JSONParser.parse("-0") == .integer(0))
        #expect(try JSONParser.parse("1.0") == .number(1))
    }

    @Test func escapes() throws {
        #expect(try JSONParser.parse(#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC""#) == .string("\"\\/\u{8}\u{c}\n\r\tAé€"))
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSONParser.parse(#""\u0000""#) == .string("\u{0}"))
        #expect(try JSONParser.parse("\"ünï ✓ 😀\"") == .string("ünï ✓ 😀"))
    }

    @Test func rejectsBadEscapes() {
        #expect(problem(#""\x""#) == .invalidEscape(offset: 1))
        #expect(problem(#""\u12G4""#) == .invalidEscape(offset: 1))
        #expect(problem(#""ab\ud83d""#) == .unpairedSurrogate(offset: 3))
        #expect(problem(#""\ud83dx""#) == .unpairedSurrogate(offset: 1))
        #expect(problem(#""\ud83d\u0041""#) == .unpairedSurrogate(offset: 1))
        #expect(problem(#""\ude00""#) == .unpairedSurrogate(offset: 1))
        #expect(problem(#""\u12"#) == .unexpectedEnd(offset: 5))
    }

    @Test func rejectsDuplicateKeysNamingThem() {
        #expect(problem(#"{"a":1,"b":2,"a":3}"#) == .duplicateKey("a", offset: 13))
        #expect(problem(#"{"o":{"k":1,"k":1}}"#) == .duplicateKey("k", offset: 12))
        // Escapes are decoded before comparing.
        #expect(problem(#"{"a":1,"\u0061":2}"#) == .duplicateKey("a", offset: 7))
        // Canonically equivalent but different code points are different keys.
        #expect(problem("{\"\u{E9}\":1,\"e\u{301}\":2}") == nil)
    }

    @Test func rejectsInvalidUTF8() {
        #expect(problem([0x22, 0xC3, 0x28, 0x22]) == .invalidUTF8(offset: 1))  // bad continuation
        #expect(problem([0x22, 0xC0, 0xAF, 0x22]) == .invalidUTF8(offset: 1))  // overlong
        #expect(problem([0x22, 0xED, 0xA0, 0x80, 0x22]) == .invalidUTF8(offset: 1))  // surrogate
        #expect(problem([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22]) == .invalidUTF8(offset: 1))  // > U+10FFFF
        #expect(problem([0x22, 0x61, 0xE2, 0x82]) == .invalidUTF8(offset: 2))  // truncated sequence
        #expect(problem([0x20, 0xFF]) == .invalidUTF8(offset: 1))
    }

    @Test func rejectsTrailingGarbage() {
        #expect(problem("{} x") == .trailingData(offset: 3))
        #expect(problem("{}{}") == .trailingData(offset: 2))
        #expect(problem("1 2") == .trailingData(offset: 2))
        #expect(problem("{}\u{0}") == .trailingData(offset: 2))
    }

    @Test func rejectsMalformedStructure() {
        #expect(problem("") == .unexpectedEnd(offset: 0))
        #expect(problem("   ") == .unexpectedEnd(offset: 3))
        #expect(problem("{") == .unexpectedEnd(offset: 1))
        #expect(problem(#"{"a"}"#) == .unexpectedByte(UInt8(ascii: "}"), offset: 4))
        #expect(problem(#"{"a":1,}"#) == .unexpectedByte(UInt8(ascii: "}"), offset: 7))
        #expect(problem("[1,]") == .unexpectedByte(UInt8(ascii: "]"), offset: 3))
        #expect(problem("[1 2]") == .unexpectedByte(UInt8(ascii: "2"), offset: 3))
        #expect(problem("{1:2}") == .unexpectedByte(UInt8(ascii: "1"), offset: 1))
        #expect(problem("tru") == .unexpectedEnd(offset: 3))
        #expect(problem("nul1") == .unexpectedByte(UInt8(ascii: "1"), offset: 3))
        #expect(problem("'a'") == .unexpectedByte(UInt8(ascii: "'"), offset: 0))
        #expect(problem("\"a\nb\"") == .controlCharacter(offset: 2))
        #expect(problem("\"abc") == .unexpectedEnd(offset: 4))
    }

    @Test func rejectsMalformedNumbers() {
        #expect(problem("-") == .unexpectedEnd(offset: 1))
        #expect(problem(".5") == .unexpectedByte(UInt8(ascii: "."), offset: 0))
        #expect(problem("+1") == .unexpectedByte(UInt8(ascii: "+"), offset: 0))
        #expect(problem("1e") == .invalidNumber(offset: 0))
        #expect(problem("1.e3") == .invalidNumber(offset: 0))
        #expect(problem("01") == .trailingData(offset: 1))
        #expect(problem("1.") == .invalidNumber(offset: 0))
        #expect(problem("1e+") == .invalidNumber(offset: 0))
        #expect(problem("-a") == .invalidNumber(offset: 0))
        #expect(problem("1e999") == .numberOutOfRange(offset: 0))
        #expect(problem("[-1e400]") == .numberOutOfRange(offset: 1))
    }

    @Test func limitsNestingDepth() throws {
        let ok = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        _ = try JSONParser.parse(ok)
        let deep = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
        #expect(problem(deep) == .tooDeep(limit: 128, offset: 128))
        // Far deeper than the stack could take without the limit.
        let huge = String(repeating: "{\"a\":", count: 100_000)
        #expect(problem(huge) == .tooDeep(limit: 128, offset: 128 * 5))
    }

    @Test func neverCrashesOnRandomInput() {
        var generator = SplitMix64(seed: 42)
        let alphabet = Array(#"{}[]",:\u0123456789-+.eEtrufalsn "#.utf8) + [0x00, 0x80, 0xC3, 0xFF, 0xED, 0xF0]
        for _ in 0..<5000 {
            let length = Int(generator.next() % 40)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            _ = problem(bytes)
        }
    }
}
