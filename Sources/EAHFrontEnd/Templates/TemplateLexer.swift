/// Splits a Jinja2 template into text and tags, applying whitespace control exactly as Jinja2's
/// lexer does with transformers' `trim_blocks=True, lstrip_blocks=True`.
///
/// Newlines are normalised to `\n` and one trailing newline is dropped (`keep_trailing_newline`
/// is off). Comments vanish here.
struct TemplateLexer {
    enum Segment: Sendable {
        case text(String)
        case output([TemplateToken], line: Int)
        case statement([TemplateToken], line: Int)
    }

    /// Templates longer than this (in Unicode scalars) are refused.
    static let maxSourceLength = 4 << 20

    private var source: [Unicode.Scalar]
    private var position = 0
    private var line = 1
    private var segments: [Segment] = []
    private var pendingText: [Unicode.Scalar] = []
    private var lineStarting = true

    static func segments(_ text: String) throws(TemplateProblem) -> [Segment] {
        var lexer = TemplateLexer(source: normalized(text))
        try lexer.run()
        return lexer.segments
    }

    private init(source: [Unicode.Scalar]) { self.source = source }

    /// `\r\n` and `\r` become `\n`; one final newline is removed.
    static func normalized(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.unicodeScalars.count)
        var previousCR = false
        for scalar in text.unicodeScalars {
            if scalar == "\r" { out.append("\n"); previousCR = true; continue }
            if scalar == "\n" && previousCR { previousCR = false; continue }
            previousCR = false
            out.append(scalar)
        }
        if out.last == "\n" { out.removeLast() }
        return out
    }

    /// Python's `str.isspace()` (also what `\s` matches in a Unicode regex).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isWhitespace || (0x1c...0x1f).contains(scalar.value)
    }

    private func starts(with literal: String, at index: Int) -> Bool {
        var i = index
        for scalar in literal.unicodeScalars {
            guard i < source.count, source[i] == scalar else { return false }
            i += 1
        }
        return true
    }

    private mutating func run() throws(TemplateProblem) {
        guard source.count <= Self.maxSourceLength else { throw .limitExceeded("template length (\(Self.maxSourceLength) characters)") }
        while position < source.count {
            let scalar = source[position]
            if scalar == "{", position + 1 < source.count, ["{", "%", "#"].contains(source[position + 1]) {
                let kind = source[position + 1]
                position += 2
                var sign: Unicode.Scalar? = nil
                if position < source.count, source[position] == "-" || source[position] == "+" { sign = source[position]; position += 1 }
                applyLeftControl(sign: sign, isVariable: kind == "{")
                flushText()
                switch kind {
                case "#": try skipComment()
                case "{": try lexTag(variable: true)
                default: try lexTag(variable: false)
                }
                continue
            }
            if scalar == "\n" { line += 1 }
            pendingText.append(scalar)
            position += 1
        }
        flushText()
    }

    /// `{%-` strips all whitespace before the tag; with lstrip_blocks a block or comment tag
    /// alone on its line (after spaces and tabs) drops that indentation.
    private mutating func applyLeftControl(sign: Unicode.Scalar?, isVariable: Bool) {
        if sign == "-" {
            while let last = pendingText.last, Self.isSpace(last) { pendingText.removeLast() }
        } else if sign != "+" && !isVariable {
            let lineStart = (pendingText.lastIndex(of: "\n")).map { $0 + 1 } ?? 0
            if lineStart > 0 || lineStarting {
                let rest = pendingText[lineStart...]
                if !rest.isEmpty && rest.allSatisfy(Self.isSpace) { pendingText.removeSubrange(lineStart...) }
            }
        }
    }

    private mutating func flushText() {
        if !pendingText.isEmpty {
            var text = ""
            text.unicodeScalars.append(contentsOf: pendingText)
            segments.append(.text(text))
            pendingText.removeAll()
        }
    }

    /// After a tag's end: `-` eats all following whitespace; a block or comment end eats one
    /// newline (trim_blocks).
    private mutating func applyRightControl(sign: Unicode.Scalar?, trimNewline: Bool) {
        var consumedNewline = false
        if sign == "-" {
            while position < source.count, Self.isSpace(source[position]) {
                consumedNewline = source[position] == "\n"
                if consumedNewline { line += 1 }
                position += 1
            }
        } else if sign == nil, trimNewline, position < source.count, source[position] == "\n" {
            position += 1
            line += 1
            consumedNewline = true
        }
        lineStarting = consumedNewline
    }

    private mutating func skipComment() throws(TemplateProblem) {
        let startLine = line
        while position < source.count {
            for (literal, sign) in [("-#}", Unicode.Scalar("-")), ("+#}", Unicode.Scalar("+")), ("#}", nil)] as [(String, Unicode.Scalar?)] where starts(with: literal, at: position) {
                position += literal.unicodeScalars.count
                applyRightControl(sign: sign, trimNewline: true)
                return
            }
            if source[position] == "\n" { line += 1 }
            position += 1
        }
        throw .syntax("missing end of comment tag (the comment opened here has no '#}')", line: startLine)
    }

    private mutating func lexTag(variable: Bool) throws(TemplateProblem) {
        let startLine = line
        var tokens: [TemplateToken] = []
        var balancing: [Unicode.Scalar] = []
        let close: Unicode.Scalar = variable ? "}" : "%"
        while true {
            while position < source.count, Self.isSpace(source[position]) {
                if source[position] == "\n" { line += 1 }
                position += 1
            }
            guard position < source.count else {
                throw .syntax("unexpected end of template: the tag opened here has no '\(variable ? "}}" : "%}")'", line: startLine)
            }
            if balancing.isEmpty {
                for (literal, sign) in [("-\(close)}", Unicode.Scalar("-")), ("+\(close)}", Unicode.Scalar("+")), ("\(close)}", nil)] as [(String, Unicode.Scalar?)]
                where starts(with: literal, at: position) && !(variable && sign == "+") {
                    position += literal.unicodeScalars.count
                    if !variable, tokens == [.name("raw")] {
                        // `{% raw %}` keeps no newline after it (jinja2 trims none there).
                        applyRightControl(sign: sign, trimNewline: false)
                        try lexRawBody(openedOn: startLine)
                        return
                    }
                    applyRightControl(sign: sign, trimNewline: !variable)
                    segments.append(variable ? .output(tokens, line: startLine) : .statement(tokens, line: startLine))
                    return
                }
            }
            let token = try lexToken()
            if case .symbol(let s) = token {
                switch s {
                case "(": balancing.append(")")
                case "[": balancing.append("]")
                case "{": balancing.append("}")
                case ")", "]", "}":
                    guard let expected = balancing.popLast(), String(expected) == s else {
                        throw .syntax("unexpected '\(s)'", line: line)
                    }
                default: break
                }
            }
            tokens.append(token)
        }
    }

    /// The text of a `raw` block, up to its `{% endraw %}`, kept as it is; the end tag's
    /// whitespace control applies as a block tag's does.
    private mutating func lexRawBody(openedOn startLine: Int) throws(TemplateProblem) {
        var scan = position
        while scan < source.count {
            guard source[scan] == "{", starts(with: "{%", at: scan) else { scan += 1; continue }
            var cursor = scan + 2
            var sign: Unicode.Scalar? = nil
            if cursor < source.count, source[cursor] == "-" || source[cursor] == "+" { sign = source[cursor]; cursor += 1 }
            while cursor < source.count, Self.isSpace(source[cursor]) { cursor += 1 }
            guard starts(with: "endraw", at: cursor) else { scan += 1; continue }
            cursor += 6
            while cursor < source.count, Self.isSpace(source[cursor]) { cursor += 1 }
            var closing: Unicode.Scalar? = nil
            if starts(with: "-%}", at: cursor) { closing = "-"; cursor += 3 } else if starts(with: "+%}", at: cursor) { closing = "+"; cursor += 3 } else if starts(with: "%}", at: cursor) { cursor += 2 } else { scan += 1; continue }
            for scalar in source[position..<cursor] where scalar == "\n" { line += 1 }
            pendingText.append(contentsOf: source[position..<scan])
            applyLeftControl(sign: sign, isVariable: false)
            flushText()
            position = cursor
            applyRightControl(sign: closing, trimNewline: true)
            return
        }
        throw .syntax("missing end of raw directive (the raw block opened here has no '{% endraw %}')", line: startLine)
    }

    private static let symbols = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%", "~", "<", ">", "=", "(", ")", "[", "]", "{", "}", ",", ".", ":", "|", ";"]

    private mutating func lexToken() throws(TemplateProblem) -> TemplateToken {
        let scalar = source[position]
        if scalar == "'" || scalar == "\"" { return try lexString(quote: scalar) }
        if ("0"..."9").contains(scalar) { return try lexNumber() }
        if scalar == "_" || scalar.properties.isAlphabetic {
            var name = ""
            while position < source.count, source[position] == "_" || source[position].properties.isAlphabetic || ("0"..."9").contains(source[position]) {
                name.unicodeScalars.append(source[position])
                position += 1
            }
            return .name(name)
        }
        for symbol in Self.symbols where starts(with: symbol, at: position) {
            position += symbol.unicodeScalars.count
            return .symbol(symbol)
        }
        throw .syntax("unexpected character '\(scalar)'", line: line)
    }

    private mutating func lexNumber() throws(TemplateProblem) -> TemplateToken {
        var digits = ""
        var isFloat = false
        func takeDigits(_ lexer: inout TemplateLexer, into text: inout String) {
            while lexer.position < lexer.source.count, ("0"..."9").contains(lexer.source[lexer.position]) || lexer.source[lexer.position] == "_" {
                if lexer.source[lexer.position] != "_" { text.unicodeScalars.append(lexer.source[lexer.position]) }
                lexer.position += 1
            }
        }
        takeDigits(&self, into: &digits)
        if position + 1 < source.count, source[position] == ".", ("0"..."9").contains(source[position + 1]) {
            isFloat = true
            digits += "."
            position += 1
            takeDigits(&self, into: &digits)
        }
        if position < source.count, source[position] == "e" || source[position] == "E" {
            var look = position + 1
            if look < source.count, source[look] == "+" || source[look] == "-" { look += 1 }
            if look < source.count, ("0"..."9").contains(source[look]) {
                isFloat = true
                digits += "e"
                if source[position + 1] == "-" { digits += "-" }
                position = look
                takeDigits(&self, into: &digits)
            }
        }
        if isFloat {
            guard let value = Double(digits) else { throw .syntax("malformed number \(digits)", line: line) }
            return .double(value)
        }
        guard let value = Int(digits) else { throw .syntax("integer \(digits) is too large", line: line) }
        return .integer(value)
    }

    /// A string literal with Python's backslash escapes (`\n`, `\t`, `\xHH`, `\uHHHH`, …).
    private mutating func lexString(quote: Unicode.Scalar) throws(TemplateProblem) -> TemplateToken {
        let startLine = line
        position += 1
        var value = String.UnicodeScalarView()
        while position < source.count {
            let scalar = source[position]
            position += 1
            if scalar == quote { return .string(String(value)) }
            if scalar == "\n" { line += 1 }
            guard scalar == "\\" else { value.append(scalar); continue }
            guard position < source.count else { break }
            let escaped = source[position]
            position += 1
            switch escaped {
            case "n": value.append("\n")
            case "t": value.append("\t")
            case "r": value.append("\r")
            case "\\": value.append("\\")
            case "'": value.append("'")
            case "\"": value.append("\"")
            case "a": value.append("\u{07}")
            case "b": value.append("\u{08}")
            case "f": value.append("\u{0C}")
            case "v": value.append("\u{0B}")
            case "\n": line += 1
            case "x", "u", "U":
                let count = escaped == "x" ? 2 : escaped == "u" ? 4 : 8
                guard position + count <= source.count else { throw .syntax("truncated \\\(escaped) escape in a string", line: line) }
                var hex = ""
                hex.unicodeScalars.append(contentsOf: source[position..<position + count])
                guard let code = UInt32(hex, radix: 16), let decoded = Unicode.Scalar(code) else {
                    throw .syntax("malformed \\\(escaped)\(hex) escape in a string", line: line)
                }
                value.append(decoded)
                position += count
            case "0"..."7":
                var code = escaped.value - 48
                var taken = 1
                while taken < 3, position < source.count, ("0"..."7").contains(source[position]) {
                    code = code * 8 + source[position].value - 48
                    position += 1
                    taken += 1
                }
                guard let decoded = Unicode.Scalar(code) else { throw .syntax("malformed octal escape in a string", line: line) }
                value.append(decoded)
            default:
                value.append("\\")
                value.append(escaped)
            }
        }
        throw .syntax("unterminated string literal", line: startLine)
    }
}
