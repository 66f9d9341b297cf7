/// Parses lexed template segments into statements and expressions, checking at compile time
/// (as Jinja2 does) that every filter and test exists.
struct TemplateParser {
    /// Deepest nesting of blocks or expressions accepted; deeper templates are refused rather
    /// than risking the stack.
    static let maxDepth = 64

    private let segments: [TemplateLexer.Segment]
    private var index = 0
    private var depth = 0
    /// Inside an `if` (not crossing a `for` body): as in Jinja2, an unknown filter or test
    /// here is an error only when evaluated.
    private var soft = false

    static func parse(_ source: String) throws(TemplateProblem) -> [TemplateNode] {
        var parser = TemplateParser(segments: try TemplateLexer.segments(source))
        let (nodes, end) = try parser.parseBody(until: [], openedBy: nil)
        if let end { throw .syntax("unexpected '\(end.tag)' with no open block", line: end.line) }
        return nodes
    }

    private init(segments: [TemplateLexer.Segment]) { self.segments = segments }

    /// The tag that ended a body: its name, the tokens after the name, and its line.
    private struct End { let tag: String; let tokens: ArraySlice<TemplateToken>; let line: Int }

    private static let blockTags: Set<String> = ["if", "for", "set", "generation", "break", "continue", "macro", "call", "filter", "with"]
    private static let unsupportedTags: Set<String> = ["include", "import", "from", "extends", "block", "do", "autoescape", "trans"]

    private mutating func parseBody(until ends: Set<String>, openedBy opener: (tag: String, line: Int)?) throws(TemplateProblem) -> ([TemplateNode], End?) {
        depth += 1
        defer { depth -= 1 }
        if depth > Self.maxDepth { throw .limitExceeded("block nesting depth (\(Self.maxDepth))") }
        var nodes: [TemplateNode] = []
        while index < segments.count {
            let segment = segments[index]
            index += 1
            switch segment {
            case .text(let text): nodes.append(.text(text))
            case .output(let tokens, let line):
                var expression = ExpressionParser(tokens: tokens, line: line, soft: soft)
                nodes.append(.output(try expression.parseWhole(), line: line))
            case .statement(let tokens, let line):
                guard case .name(let tag) = tokens.first else { throw .syntax("a tag must start with a name", line: line) }
                let rest = tokens.dropFirst()
                if ends.contains(tag) { return (nodes, End(tag: tag, tokens: rest, line: line)) }
                if Self.unsupportedTags.contains(tag) { throw .unsupported("tag '\(tag)'", line: line) }
                guard Self.blockTags.contains(tag) else {
                    if let opener {
                        throw .syntax("unexpected tag '\(tag)' inside the '\(opener.tag)' block opened on line \(opener.line) (expected \(ends.sorted().map { "'\($0)'" }.joined(separator: " or ")))", line: line)
                    }
                    if tag.hasPrefix("end") || tag == "elif" || tag == "else" { throw .syntax("unexpected '\(tag)' with no open block", line: line) }
                    throw .syntax("unknown tag '\(tag)'", line: line)
                }
                nodes.append(try parseStatement(tag, rest, line: line))
            }
        }
        if let opener {
            throw .syntax("unexpected end of template: the '\(opener.tag)' block opened on line \(opener.line) needs \(ends.sorted().map { "'\($0)'" }.joined(separator: " or "))", line: opener.line)
        }
        return (nodes, nil)
    }

    private mutating func parseStatement(_ tag: String, _ tokens: ArraySlice<TemplateToken>, line: Int) throws(TemplateProblem) -> TemplateNode {
        switch tag {
        case "if":
            let outer = soft
            soft = true
            defer { soft = outer }
            var branches: [(TemplateExpression, [TemplateNode])] = []
            var conditionParser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            var condition = try conditionParser.parseWhole()
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"], openedBy: ("if", line))
                guard let end else { throw .syntax("unexpected end of template", line: line) }
                branches.append((condition, body))
                switch end.tag {
                case "elif":
                    var elifParser = ExpressionParser(tokens: end.tokens, line: end.line, soft: soft)
                    condition = try elifParser.parseWhole()
                case "else":
                    try Self.expectEmpty(end)
                    let (otherwise, last) = try parseBody(until: ["endif"], openedBy: ("if", line))
                    if let last { try Self.expectEmpty(last) }
                    return .conditional(branches, otherwise: otherwise, line: line)
                default:
                    try Self.expectEmpty(end)
                    return .conditional(branches, otherwise: [], line: line)
                }
            }
        case "for":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            let targets = try parser.parseTargets()
            try parser.expectName("in")
            let iterable = try parser.parseExpression(allowConditional: false)
            var filter: TemplateExpression? = nil
            if parser.skipName("if") { filter = try parser.parseExpression(allowConditional: true) }
            if parser.skipName("recursive") { throw .unsupported("recursive loops", line: line) }
            try parser.finish()
            let outer = soft
            soft = false
            defer { soft = outer }
            let (body, end) = try parseBody(until: ["else", "endfor"], openedBy: ("for", line))
            var otherwise: [TemplateNode] = []
            if let end, end.tag == "else" {
                try Self.expectEmpty(end)
                let (elseBody, last) = try parseBody(until: ["endfor"], openedBy: ("for", line))
                if let last { try Self.expectEmpty(last) }
                otherwise = elseBody
            } else if let end {
                try Self.expectEmpty(end)
            }
            return .loop(targets: targets, iterable: iterable, filter: filter, body: body, otherwise: otherwise, line: line)
        case "set":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            let targets = try parser.parseTargets()
            var attribute: String? = nil
            if targets.count == 1, parser.skipSymbol(".") { attribute = try parser.expectAnyName() }
            if parser.atEnd {
                guard targets.count == 1, attribute == nil else { throw .syntax("a block 'set' takes one name", line: line) }
                let (body, end) = try parseBody(until: ["endset"], openedBy: ("set", line))
                if let end { try Self.expectEmpty(end) }
                return .assignBlock(targets[0], body: body, line: line)
            }
            guard parser.skipSymbol("=") else { throw .syntax("expected '=' after the name in 'set'", line: line) }
            let value = try parser.parseTupleOrExpression()
            try parser.finish()
            return .assign(targets: targets, attribute: attribute, value, line: line)
        case "generation":
            guard tokens.isEmpty else { throw .syntax("'generation' takes no arguments", line: line) }
            let (body, end) = try parseBody(until: ["endgeneration"], openedBy: ("generation", line))
            if let end { try Self.expectEmpty(end) }
            return .generation(body)
        case "macro":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            let name = try parser.expectAnyName()
            let parameters = try parser.parseParameters()
            try parser.finish()
            let (body, end) = try parseBody(until: ["endmacro"], openedBy: ("macro", line))
            if let end { try Self.expectMacroEnd(end, name: name) }
            return .macro(name: name, parameters: parameters, body: body, line: line)
        case "call":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            let parameters = parser.startsParameters ? try parser.parseParameters() : []
            let call = try parser.parseExpression(allowConditional: false)
            guard case .call = call else { throw .syntax("expected a macro call after 'call'", line: line) }
            try parser.finish()
            let (body, end) = try parseBody(until: ["endcall"], openedBy: ("call", line))
            if let end { try Self.expectEmpty(end) }
            return .callBlock(call, parameters: parameters, body: body, line: line)
        case "filter":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            let (name, arguments, keywords) = try parser.parseFilterCall()
            try parser.finish()
            let (body, end) = try parseBody(until: ["endfilter"], openedBy: ("filter", line))
            if let end { try Self.expectEmpty(end) }
            return .filterBlock(name: name, arguments, keywords, body: body, line: line)
        case "with":
            var parser = ExpressionParser(tokens: tokens, line: line, soft: soft)
            var assignments: [(String, TemplateExpression)] = []
            while !parser.atEnd {
                if !assignments.isEmpty { try parser.expectSymbol(",") }
                let name = try parser.expectAnyName()
                try parser.expectSymbol("=")
                assignments.append((name, try parser.parseExpression(allowConditional: true)))
            }
            try parser.finish()
            let (body, end) = try parseBody(until: ["endwith"], openedBy: ("with", line))
            if let end { try Self.expectEmpty(end) }
            return .scoped(assignments, body: body, line: line)
        case "break", "continue":
            guard tokens.isEmpty else { throw .syntax("'\(tag)' takes no arguments", line: line) }
            return tag == "break" ? .breakLoop(line: line) : .continueLoop(line: line)
        default:
            throw .syntax("unknown tag '\(tag)'", line: line)
        }
    }

    /// `endmacro` may repeat the macro's name.
    private static func expectMacroEnd(_ end: End, name: String) throws(TemplateProblem) {
        if end.tokens.count == 1, end.tokens.first == .name(name) { return }
        try expectEmpty(end)
    }

    private static func expectEmpty(_ end: End) throws(TemplateProblem) {
        if let first = end.tokens.first { throw .syntax("unexpected \(first.spelling) after '\(end.tag)'", line: end.line) }
    }
}

extension TemplateParser {
    /// Recursive-descent parser for one tag's expression, with Jinja2's precedence.
    struct ExpressionParser {
        private let tokens: [TemplateToken]
        private var position = 0
        private let line: Int
        private var depth = 0
        private var operators = 0
        /// Most operators, filters, attribute accesses and calls in one tag: each adds a level
        /// to the tree the renderer walks recursively.
        static let maxOperators = 256

        /// Whether unknown filters and tests wait until they are evaluated to fail.
        private let soft: Bool
        /// Unknown filters and tests met outside a conditional expression.
        private var unknown: [String] = []

        init(tokens: some Collection<TemplateToken>, line: Int, soft: Bool) {
            self.tokens = Array(tokens)
            self.line = line
            self.soft = soft
        }

        /// The tag's end: nothing left, and no unknown filter or test outside a conditional.
        func finish() throws(TemplateProblem) {
            try expectEnd()
            if !soft, let first = unknown.first { throw .unsupported(first, line: line) }
        }

        var atEnd: Bool { position >= tokens.count }
        private var current: TemplateToken? { position < tokens.count ? tokens[position] : nil }

        mutating func parseWhole() throws(TemplateProblem) -> TemplateExpression {
            guard !atEnd else { throw .syntax("expected an expression", line: line) }
            let expression = try parseExpression(allowConditional: true)
            try finish()
            return expression
        }

        func expectEnd() throws(TemplateProblem) {
            if let current { throw .syntax("unexpected \(current.spelling)", line: line) }
        }

        mutating func skipName(_ name: String) -> Bool {
            if current == .name(name) { position += 1; return true }
            return false
        }

        mutating func skipSymbol(_ symbol: String) -> Bool {
            if current == .symbol(symbol) { position += 1; return true }
            return false
        }

        mutating func expectName(_ name: String) throws(TemplateProblem) {
            guard skipName(name) else { throw .syntax("expected '\(name)'\(current.map { ", got \($0.spelling)" } ?? "")", line: line) }
        }

        mutating func expectAnyName() throws(TemplateProblem) -> String {
            guard case .name(let name) = current else { throw .syntax("expected a name\(current.map { ", got \($0.spelling)" } ?? "")", line: line) }
            position += 1
            return name
        }

        mutating func expectSymbol(_ symbol: String) throws(TemplateProblem) {
            guard skipSymbol(symbol) else { throw .syntax("expected '\(symbol)'\(current.map { ", got \($0.spelling)" } ?? " before the end of the tag")", line: line) }
        }

        /// `name` or `a, b` (parenthesised or not), as in `for` and `set`.
        mutating func parseTargets() throws(TemplateProblem) -> [String] {
            let parenthesised = skipSymbol("(")
            var names = [try expectAnyName()]
            while skipSymbol(",") {
                if case .name = current { names.append(try expectAnyName()) } else { break }
            }
            if parenthesised { try expectSymbol(")") }
            return names
        }

        /// Whether a `(` opens a parameter list (as in `call(x) macro()`), not the call itself.
        var startsParameters: Bool { current == .symbol("(") }

        /// `(name, name=default, …)` of a macro or a call block's caller.
        mutating func parseParameters() throws(TemplateProblem) -> [TemplateParameter] {
            try expectSymbol("(")
            var parameters: [TemplateParameter] = []
            while !skipSymbol(")") {
                if !parameters.isEmpty { try expectSymbol(","); if skipSymbol(")") { break } }
                let name = try expectAnyName()
                if parameters.contains(where: { $0.name == name }) { throw .syntax("duplicate parameter '\(name)'", line: line) }
                if skipSymbol("=") {
                    parameters.append(TemplateParameter(name: name, defaultValue: try parseExpression(allowConditional: true)))
                } else {
                    if parameters.last?.defaultValue != nil { throw .syntax("non-default argument follows default argument", line: line) }
                    parameters.append(TemplateParameter(name: name, defaultValue: nil))
                }
            }
            return parameters
        }

        /// `name(arguments)` of a filter block; the filter must exist.
        mutating func parseFilterCall() throws(TemplateProblem) -> (String, [TemplateExpression], [(String, TemplateExpression)]) {
            let name = try expectAnyName()
            guard TemplateRenderer.filters.contains(name) else { throw .unsupported("filter '\(name)'", line: line) }
            if skipSymbol("(") {
                let (arguments, keywords) = try parseArguments()
                return (name, arguments, keywords)
            }
            return (name, [], [])
        }

        /// An expression, or `a, b` as a tuple.
        mutating func parseTupleOrExpression() throws(TemplateProblem) -> TemplateExpression {
            let first = try parseExpression(allowConditional: true)
            guard current == .symbol(",") else { return first }
            var items = [first]
            while skipSymbol(",") {
                if atEnd || current == .symbol(")") { break }
                items.append(try parseExpression(allowConditional: true))
            }
            return .tuple(items)
        }

        private mutating func chained() throws(TemplateProblem) {
            operators += 1
            if operators > Self.maxOperators { throw .limitExceeded("operators in one expression (\(Self.maxOperators))") }
        }

        private mutating func enter() throws(TemplateProblem) {
            depth += 1
            if depth > TemplateParser.maxDepth { throw .limitExceeded("expression nesting depth (\(TemplateParser.maxDepth))") }
        }

        mutating func parseExpression(allowConditional: Bool) throws(TemplateProblem) -> TemplateExpression {
            try enter()
            defer { depth -= 1 }
            let known = unknown.count
            var expression = try parseOr()
            if allowConditional {
                defer { if expression.isConditional { unknown.removeSubrange(known...) } }
                while skipName("if") {
                    let condition = try parseOr()
                    let otherwise = skipName("else") ? try parseExpression(allowConditional: true) : nil
                    expression = .conditional(expression, condition: condition, otherwise: otherwise)
                }
            }
            return expression
        }

        private mutating func parseOr() throws(TemplateProblem) -> TemplateExpression {
            var left = try parseAnd()
            while skipName("or") { try chained(); left = .or(left, try parseAnd()) }
            return left
        }

        private mutating func parseAnd() throws(TemplateProblem) -> TemplateExpression {
            var left = try parseNot()
            while skipName("and") { try chained(); left = .and(left, try parseNot()) }
            return left
        }

        private mutating func parseNot() throws(TemplateProblem) -> TemplateExpression {
            if skipName("not") {
                try enter()
                defer { depth -= 1 }
                return .not(try parseNot())
            }
            return try parseCompare()
        }

        private mutating func parseCompare() throws(TemplateProblem) -> TemplateExpression {
            let first = try parseMath1()
            var comparisons: [TemplateExpression] = []
            var left = first
            while true {
                let op: String
                if case .symbol(let s) = current, ["==", "!=", "<", "<=", ">", ">="].contains(s) {
                    op = s
                    position += 1
                } else if skipName("in") {
                    op = "in"
                } else if current == .name("not"), position + 1 < tokens.count, tokens[position + 1] == .name("in") {
                    position += 2
                    op = "not in"
                } else {
                    break
                }
                try chained()
                let right = try parseMath1()
                comparisons.append(.binary(op, left, right))
                left = right
            }
            guard var result = comparisons.first else { return first }
            for next in comparisons.dropFirst() { result = .and(result, next) }
            return result
        }

        private mutating func parseMath1() throws(TemplateProblem) -> TemplateExpression {
            var left = try parseConcat()
            while case .symbol(let s) = current, s == "+" || s == "-" {
                position += 1
                try chained()
                left = .binary(s, left, try parseConcat())
            }
            return left
        }

        private mutating func parseConcat() throws(TemplateProblem) -> TemplateExpression {
            var left = try parseMath2()
            while skipSymbol("~") { try chained(); left = .binary("~", left, try parseMath2()) }
            return left
        }

        private mutating func parseMath2() throws(TemplateProblem) -> TemplateExpression {
            var left = try parsePow()
            while case .symbol(let s) = current, ["*", "/", "//", "%"].contains(s) {
                position += 1
                try chained()
                left = .binary(s, left, try parsePow())
            }
            return left
        }

        private mutating func parsePow() throws(TemplateProblem) -> TemplateExpression {
            var left = try parseUnary(withFilter: true)
            while skipSymbol("**") { try chained(); left = .binary("**", left, try parseUnary(withFilter: true)) }
            return left
        }

        private mutating func parseUnary(withFilter: Bool) throws(TemplateProblem) -> TemplateExpression {
            try enter()
            defer { depth -= 1 }
            var node: TemplateExpression
            if skipSymbol("-") {
                node = .negate(try parseUnary(withFilter: false))
            } else if skipSymbol("+") {
                node = try parseUnary(withFilter: false)
            } else {
                node = try parsePrimary()
            }
            node = try parsePostfix(node)
            if withFilter { node = try parseFilters(node) }
            return node
        }

        private mutating func parsePrimary() throws(TemplateProblem) -> TemplateExpression {
            guard let token = current else { throw .syntax("unexpected end of the expression", line: line) }
            position += 1
            switch token {
            case .name(let name):
                switch name {
                case "true", "True": return .bool(true)
                case "false", "False": return .bool(false)
                case "none", "None": return .none
                default: return .variable(name)
                }
            case .string(var text):
                while case .string(let more) = current { text += more; position += 1 }
                return .string(text)
            case .integer(let i): return .integer(i)
            case .double(let d): return .double(d)
            case .symbol("("):
                if skipSymbol(")") { return .tuple([]) }
                let inner = try parseTupleOrExpression()
                try expectSymbol(")")
                return inner
            case .symbol("["):
                var items: [TemplateExpression] = []
                while !skipSymbol("]") {
                    if !items.isEmpty { try expectSymbol(","); if skipSymbol("]") { break } }
                    items.append(try parseExpression(allowConditional: true))
                }
                return .list(items)
            case .symbol("{"):
                var pairs: [(TemplateExpression, TemplateExpression)] = []
                while !skipSymbol("}") {
                    if !pairs.isEmpty { try expectSymbol(","); if skipSymbol("}") { break } }
                    let key = try parseExpression(allowConditional: true)
                    try expectSymbol(":")
                    pairs.append((key, try parseExpression(allowConditional: true)))
                }
                return .dictionary(pairs)
            default:
                throw .syntax("unexpected \(token.spelling)", line: line)
            }
        }

        private mutating func parsePostfix(_ start: TemplateExpression) throws(TemplateProblem) -> TemplateExpression {
            var node = start
            while true {
                if let token = current, [.symbol("."), .symbol("["), .symbol("(")].contains(token) { try chained() }
                if skipSymbol(".") {
                    switch current {
                    case .name(let name): position += 1; node = .attribute(node, name)
                    case .integer(let i): position += 1; node = .item(node, .integer(i))
                    default: throw .syntax("expected a name after '.'", line: line)
                    }
                } else if skipSymbol("[") {
                    node = try parseSubscript(node)
                } else if skipSymbol("(") {
                    let (arguments, keywords) = try parseArguments()
                    node = .call(node, arguments, keywords)
                } else {
                    return node
                }
            }
        }

        private mutating func parseSubscript(_ target: TemplateExpression) throws(TemplateProblem) -> TemplateExpression {
            var parts: [TemplateExpression?] = [nil]
            var sawColon = false
            while !skipSymbol("]") {
                if skipSymbol(":") {
                    sawColon = true
                    parts.append(nil)
                    guard parts.count <= 3 else { throw .syntax("a slice has at most two ':'", line: line) }
                    continue
                }
                guard parts[parts.count - 1] == nil else { throw .syntax("expected ']'", line: line) }
                parts[parts.count - 1] = try parseExpression(allowConditional: true)
            }
            if !sawColon {
                guard let key = parts[0] else { throw .syntax("empty subscript", line: line) }
                return .item(target, key)
            }
            while parts.count < 3 { parts.append(nil) }
            return .slice(target, parts[0], parts[1], parts[2])
        }

        /// After `(`: positional and `name=value` arguments up to `)`.
        private mutating func parseArguments() throws(TemplateProblem) -> ([TemplateExpression], [(String, TemplateExpression)]) {
            var arguments: [TemplateExpression] = []
            var keywords: [(String, TemplateExpression)] = []
            while !skipSymbol(")") {
                if !(arguments.isEmpty && keywords.isEmpty) { try expectSymbol(","); if skipSymbol(")") { break } }
                if case .name(let name) = current, position + 1 < tokens.count, tokens[position + 1] == .symbol("=") {
                    position += 2
                    keywords.append((name, try parseExpression(allowConditional: true)))
                } else {
                    if current == .symbol("*") || current == .symbol("**") { throw .unsupported("*args and **kwargs in calls", line: line) }
                    guard keywords.isEmpty else { throw .syntax("a positional argument follows a keyword argument", line: line) }
                    arguments.append(try parseExpression(allowConditional: true))
                }
            }
            return (arguments, keywords)
        }

        private mutating func parseFilters(_ start: TemplateExpression) throws(TemplateProblem) -> TemplateExpression {
            var node = start
            while true {
                if let token = current, [.symbol("|"), .name("is"), .symbol("(")].contains(token) { try chained() }
                if skipSymbol("|") {
                    var name = try expectAnyName()
                    while skipSymbol(".") { name += "." + (try expectAnyName()) }
                    if !TemplateRenderer.filters.contains(name) { unknown.append("filter '\(name)'") }
                    var arguments: [TemplateExpression] = []
                    var keywords: [(String, TemplateExpression)] = []
                    if skipSymbol("(") { (arguments, keywords) = try parseArguments() }
                    node = .filter(node, name, arguments, keywords)
                } else if skipName("is") {
                    let negated = skipName("not")
                    var name = try expectAnyName()
                    while skipSymbol(".") { name += "." + (try expectAnyName()) }
                    if !TemplateRenderer.tests.contains(name) { unknown.append("test '\(name)'") }
                    var arguments: [TemplateExpression] = []
                    if skipSymbol("(") {
                        let (positional, keywords) = try parseArguments()
                        guard keywords.isEmpty else { throw .unsupported("keyword arguments to test '\(name)'", line: line) }
                        arguments = positional
                    } else if let token = current, Self.startsPrimary(token) {
                        arguments = [try parsePostfix(try parsePrimary())]
                    }
                    node = .test(node, name, arguments, negated: negated)
                } else if skipSymbol("(") {
                    let (arguments, keywords) = try parseArguments()
                    node = .call(node, arguments, keywords)
                } else {
                    return node
                }
            }
        }

        private static func startsPrimary(_ token: TemplateToken) -> Bool {
            switch token {
            case .name(let n): !["else", "or", "and", "if", "is", "in", "not"].contains(n)
            case .string, .integer, .double: true
            case .symbol(let s): s == "(" || s == "[" || s == "{"
            }
        }
    }
}
