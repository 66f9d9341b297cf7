import EAHCheckpoint

/// A value inside a chat template: what Jinja2 sees of the Python objects transformers passes.
///
/// Dictionaries keep insertion order and have string keys, as the JSON-like data chat templates
/// receive. Printing follows Python's `str()`: `None`, `True`, `['a', 1]`.
public enum TemplateValue: Sendable, Equatable, ExpressibleByStringLiteral {
    /// Jinja2's default `Undefined`: prints as nothing, is false, iterates as empty; the name is
    /// kept for error messages.
    case undefined(String)
    case none
    case bool(Bool)
    case integer(Int)
    case double(Double)
    case string(String)
    /// A `Markup` string (what `| safe` returns): `+` with a plain string HTML-escapes the
    /// plain one, as markupsafe does; everywhere else it is its text.
    case markup(String)
    case list([TemplateValue])
    /// A Python tuple (`(a, b)`, `dict.items()` pairs, `varargs`): a list that prints with
    /// parentheses.
    case tuple([TemplateValue])
    /// What Jinja2's `map`, `select`, `selectattr`, `reject`, `rejectattr` and `unique` return:
    /// a Python generator (`id` tells one from another), which is always true, has no length,
    /// cannot be indexed or serialised, prints as `<generator object>`, and yields each of its
    /// items once: iterated a second time it is empty.
    case generator(id: Int, [TemplateValue])
    /// A Python dict: keys are strings in JSON data, and any hashable value (a number, a
    /// boolean, None, a tuple) in a template's own literals.
    case dictionary([(TemplateValue, TemplateValue)])
    /// A `namespace()` object, by its index in the renderer's namespace table.
    case namespace(Int)
    /// A global function (`raise_exception`, `strftime_now`, `range`, `namespace`, `dict`).
    case function(String)
    /// A `macro` (or a call block's `caller`), by its index in the renderer's macro table.
    case macro(Int)

    public static func == (lhs: TemplateValue, rhs: TemplateValue) -> Bool {
        switch (lhs, rhs) {
        case (.undefined, .undefined), (.none, .none): true
        case (.bool(let a), .bool(let b)): a == b
        case (.integer(let a), .integer(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.integer(let a), .double(let b)), (.double(let b), .integer(let a)): Double(a) == b
        // Python's bool is an int: True == 1, False == 0.0.
        case (.bool(let a), .integer(let b)), (.integer(let b), .bool(let a)): (a ? 1 : 0) == b
        case (.bool(let a), .double(let b)), (.double(let b), .bool(let a)): (a ? 1.0 : 0.0) == b
        case (.string(let a), .string(let b)), (.markup(let a), .markup(let b)), (.string(let a), .markup(let b)), (.markup(let a), .string(let b)):
            a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)): a == b
        case (.generator(let a, _), .generator(let b, _)): a == b
        case (.dictionary(let a), .dictionary(let b)):
            a.count == b.count && a.allSatisfy { pair in b.contains { $0.0 == pair.0 && $0.1 == pair.1 } }
        case (.namespace(let a), .namespace(let b)): a == b
        case (.function(let a), .function(let b)): a == b
        case (.macro(let a), .macro(let b)): a == b
        default: false
        }
    }

    /// The value of a parsed JSON document (integers stay integers, objects keep their order).
    public init(json: JSONValue) {
        switch json {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .integer(let i): self = .integer(i)
        case .number(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let values): self = .list(values.map(TemplateValue.init(json:)))
        case .object(let members): self = .dictionary(members.map { (.string($0.0), TemplateValue(json: $0.1)) })
        }
    }

    /// The member `key` of a dictionary.
    public subscript(key: String) -> TemplateValue? {
        if case .dictionary(let members) = self { return members.first { $0.0 == .string(key) }?.1 }
        return nil
    }

    /// Python truthiness.
    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let b): b
        case .integer(let i): i != 0
        case .double(let d): d != 0
        case .string(let s), .markup(let s): !s.isEmpty
        case .list(let l), .tuple(let l): !l.isEmpty
        case .dictionary(let d): !d.isEmpty
        case .namespace, .function, .macro, .generator: true
        }
    }

    public init(stringLiteral value: String) { self = .string(value) }

    /// Whether Python can use the value as a dict key.
    var isHashable: Bool {
        switch self {
        case .none, .bool, .integer, .double, .string, .markup: true
        case .tuple(let items): items.allSatisfy(\.isHashable)
        default: false
        }
    }

    var isString: Bool { if case .string = self { true } else { false } }

    /// The items of a list or tuple.
    var sequence: [TemplateValue]? {
        switch self {
        case .list(let items), .tuple(let items): items
        default: nil
        }
    }

    /// The value with a `Markup` string made plain.
    var plain: TemplateValue { if case .markup(let s) = self { .string(s) } else { self } }

    /// markupsafe's `escape`.
    static func htmlEscaped(_ s: String) -> String {
        var out = ""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&#34;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    var isUndefined: Bool { if case .undefined = self { true } else { false } }

    /// Python's `str()` of the value (what `{{ value }}` prints).
    var pythonString: String {
        switch self {
        case .undefined: ""
        case .string(let s), .markup(let s): s
        default: pythonRepresentation
        }
    }

    /// Python's `repr()` of the value (how it appears inside a printed list or dict).
    var pythonRepresentation: String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .integer(let i): String(i)
        case .double(let d): Self.pythonFloat(d)
        case .string(let s): Self.pythonQuoted(s)
        case .markup(let s): "Markup(" + Self.pythonQuoted(s) + ")"
        case .list(let l): "[" + l.map(\.pythonRepresentation).joined(separator: ", ") + "]"
        case .tuple(let l): "(" + l.map(\.pythonRepresentation).joined(separator: ", ") + (l.count == 1 ? ",)" : ")")
        case .dictionary(let d): "{" + d.map { $0.0.pythonRepresentation + ": " + $0.1.pythonRepresentation }.joined(separator: ", ") + "}"
        case .namespace: "<Namespace>"
        case .function(let name): "<function \(name)>"
        case .macro: "<Macro>"
        case .generator: "<generator object>"
        }
    }

    /// A type name for error messages.
    var typeName: String {
        switch self {
        case .undefined: "undefined"
        case .none: "none"
        case .bool: "boolean"
        case .integer: "integer"
        case .double: "float"
        case .string, .markup: "string"
        case .list: "list"
        case .tuple: "tuple"
        case .dictionary: "dict"
        case .namespace: "namespace"
        case .function: "function"
        case .macro: "macro"
        case .generator: "generator"
        }
    }

    /// Python's `repr()` of a float: the shortest digits that round-trip (Swift's), written in
    /// positional notation for decimal exponents from -4 to 15 (`1e-05`, `0.0001`,
    /// `9500000000000000.0`, `1e+16`).
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        let sign = d.sign == .minus ? "-" : ""
        let text = "\(d.magnitude)"
        let parts = text.split(separator: "e")
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        var digits = Array(mantissa[0] + (mantissa.count > 1 ? mantissa[1] : ""))
        var point = mantissa[0].count + exponent  // digits before the decimal point
        while digits.count > 1, digits.first == "0" { digits.removeFirst(); point -= 1 }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        if digits == ["0"] { return sign + "0.0" }
        let scientific = point - 1
        if (-4..<16).contains(scientific) {
            if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
            if point >= digits.count { return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0" }
            return sign + String(digits[..<point]) + "." + String(digits[point...])
        }
        let magnitude = String(abs(scientific))
        return sign + String(digits[0]) + (digits.count > 1 ? "." + String(digits[1...]) : "")
            + "e" + (scientific < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
    }

    static func pythonQuoted(_ s: String) -> String {
        let useDouble = s.contains("'") && !s.contains("\"")
        let quote: Character = useDouble ? "\"" : "'"
        var out = String(quote)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "'" where !useDouble: out += "\\'"
            case _ where scalar.value < 0x20 || scalar.value == 0x7f:
                let hex = Swift.String(scalar.value, radix: 16)
                out += "\\x" + (hex.count < 2 ? "0" : "") + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append(quote)
        return out
    }
}
