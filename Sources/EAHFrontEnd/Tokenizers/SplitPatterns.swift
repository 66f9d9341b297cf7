/// Where a Split pre-tokenizer cuts: the ranges of the matches of a pattern, left to right and
/// non-overlapping, as the regular expression would find them.
///
/// The regular expressions of GPT-2, LLaMA 3 and Qwen2 are matched by hand-written scanners that
/// follow the expressions' alternation order and backtracking exactly (as llama.cpp's
/// `unicode.cpp` does), which is also far faster than a general regex engine.
public protocol SplitPattern: Sendable {
    func matches(in text: [Unicode.Scalar]) -> [Range<Int>]
}

/// The regular expressions eah knows, by their source text in `tokenizer.json` (and llama.cpp's
/// adapted spellings of them).
enum KnownSplitPatterns {
    static let gpt2 = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2 = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    static let byRegex: [String: any SplitPattern] = [
        gpt2: GPT2Pattern(),
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"#: GPT2Pattern(),
        llama3: Llama3Pattern(maxDigits: 3),
        qwen2: Llama3Pattern(maxDigits: 1),
        #"\p{N}{1,3}"#: NumberRunPattern(maxLength: 3),
        #"\p{N}"#: NumberRunPattern(maxLength: 1),
        #"\p{N}+"#: NumberRunPattern(maxLength: nil),
    ]
}

/// The character classes the patterns use.
enum CharacterClass: UInt8 {
    case letter, number, whitespace, other

    private static let ascii: [CharacterClass] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        return classify(scalar)
    }

    static func of(_ scalar: Unicode.Scalar) -> CharacterClass {
        scalar.value < 128 ? ascii[Int(scalar.value)] : classify(scalar)
    }

    /// `\p{L}`, `\p{N}`, `\s` (White_Space), everything else.
    private static func classify(_ scalar: Unicode.Scalar) -> CharacterClass {
        let properties = scalar.properties
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// `\p{P}` (any punctuation category).
    static func isPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
             .finalPunctuation, .otherPunctuation: true
        default: false
        }
    }
}

/// Shared scanning loop: `match(at:)` gives the end of the match starting at a position, or nil.
protocol ScanningPattern: SplitPattern {
    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int?
}

extension ScanningPattern {
    public func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        let classes = text.map(CharacterClass.of)
        var ranges: [Range<Int>] = []
        var position = 0
        while position < text.count {
            if let end = match(in: text, classes: classes, at: position), end > position {
                ranges.append(position..<end)
                position = end
            } else {
                position += 1
            }
        }
        return ranges
    }

    /// The end of the run of `kind` characters starting at `start`.
    func run(_ classes: [CharacterClass], from start: Int, of kind: CharacterClass, limit: Int? = nil) -> Int {
        var end = start
        while end < classes.count, classes[end] == kind, limit.map({ end - start < $0 }) ?? true { end += 1 }
        return end
    }

    /// `\s+(?!\S)|\s+` at a whitespace character.
    func whitespace(_ classes: [CharacterClass], at start: Int) -> Int {
        let end = run(classes, from: start, of: .whitespace)
        return end < classes.count && end - 1 > start ? end - 1 : end
    }
}

/// GPT-2's `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
struct GPT2Pattern: ScanningPattern {
    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int? {
        if let end = contraction(text, at: start, ignoringCase: false) { return end }
        var first = start
        if text[start] == " ", start + 1 < text.count, classes[start + 1] != .whitespace { first = start + 1 }
        let kind = classes[first]
        if kind != .whitespace { return run(classes, from: first, of: kind) }
        return whitespace(classes, at: start)
    }
}

/// LLaMA 3's pattern (`maxDigits` 3) and Qwen2's (`maxDigits` 1):
/// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`.
struct Llama3Pattern: ScanningPattern {
    let maxDigits: Int

    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int? {
        if let end = contraction(text, at: start, ignoringCase: true) { return end }
        let scalar = text[start]
        let kind = classes[start]
        let isNewline = scalar == "\r" || scalar == "\n"
        if kind == .letter { return run(classes, from: start, of: .letter) }
        if kind != .number, !isNewline, start + 1 < text.count, classes[start + 1] == .letter {
            return run(classes, from: start + 1, of: .letter)
        }
        if kind == .number { return run(classes, from: start, of: .number, limit: maxDigits) }
        var first = start
        if scalar == " ", start + 1 < text.count, classes[start + 1] == .other { first = start + 1 }
        if classes[first] == .other {
            var end = run(classes, from: first, of: .other)
            while end < text.count, text[end] == "\r" || text[end] == "\n" { end += 1 }
            return end
        }
        // Whitespace: up to the last line break of the run, else the run less one before a non-space.
        let end = run(classes, from: start, of: .whitespace)
        if let lastBreak = text[start..<end].lastIndex(where: { $0 == "\r" || $0 == "\n" }) { return lastBreak + 1 }
        return whitespace(classes, at: start)
    }
}

extension ScanningPattern {
    /// `'s|'t|'re|'ve|'m|'ll|'d` at `start` (optionally case-insensitive).
    func contraction(_ text: [Unicode.Scalar], at start: Int, ignoringCase: Bool) -> Int? {
        guard text[start] == "'", start + 1 < text.count else { return nil }
        func letter(_ index: Int) -> Unicode.Scalar? {
            guard index < text.count else { return nil }
            let scalar = text[index]
            guard ignoringCase, ("A"..."Z").contains(scalar) else { return scalar }
            return Unicode.Scalar(scalar.value + 32)
        }
        switch letter(start + 1) {
        case "s", "t", "m", "d": return start + 2
        case "r", "v": return letter(start + 2) == "e" ? start + 3 : nil
        case "l": return letter(start + 2) == "l" ? start + 3 : nil
        default: return nil
        }
    }
}

/// `\p{N}+`, `\p{N}{1,n}`.
struct NumberRunPattern: ScanningPattern {
    let maxLength: Int?

    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int? {
        classes[start] == .number ? run(classes, from: start, of: .number, limit: maxLength) : nil
    }
}

/// llama.cpp's `[\p{P}\$\+<=>\^~\|]+` (runs of punctuation and a few ASCII symbols).
struct PunctuationRunPattern: ScanningPattern {
    static func isMember(_ scalar: Unicode.Scalar) -> Bool {
        "$+<=>^~|".unicodeScalars.contains(scalar) || CharacterClass.isPunctuation(scalar)
    }

    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int? {
        var end = start
        while end < text.count, Self.isMember(text[end]) { end += 1 }
        return end > start ? end : nil
    }
}

/// llama.cpp's `[0-9][0-9][0-9]`.
struct ThreeDigitPattern: ScanningPattern {
    func match(in text: [Unicode.Scalar], classes: [CharacterClass], at start: Int) -> Int? {
        guard start + 3 <= text.count, text[start..<start + 3].allSatisfy({ ("0"..."9").contains($0) }) else { return nil }
        return start + 3
    }
}

/// A literal string (Split with a `String` pattern).
struct LiteralPattern: SplitPattern {
    let literal: [Unicode.Scalar]

    func matches(in text: [Unicode.Scalar]) -> [Range<Int>] {
        guard !literal.isEmpty, text.count >= literal.count else { return [] }
        var ranges: [Range<Int>] = []
        var position = 0
        while position + literal.count <= text.count {
            if text[position] == literal[0], text[position..<position + literal.count].elementsEqual(literal) {
                ranges.append(position..<position + literal.count)
                position += literal.count
            } else {
                position += 1
            }
        }
        return ranges
    }
}
