/// One token of the expression inside a `{{ … }}` or `{% … %}` tag.
enum TemplateToken: Equatable, Sendable {
    case name(String)
    case string(String)
    case integer(Int)
    case double(Double)
    /// An operator or punctuation: `+`, `//`, `==`, `(`, `|`, …
    case symbol(String)

    /// How the token reads in an error message.
    var spelling: String {
        switch self {
        case .name(let n): "'\(n)'"
        case .string(let s): TemplateValue.pythonQuoted(s)
        case .integer(let i): String(i)
        case .double(let d): TemplateValue.pythonFloat(d)
        case .symbol(let s): "'\(s)'"
        }
    }
}
