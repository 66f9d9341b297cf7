/// A parsed Jinja2 expression.
indirect enum TemplateExpression: Sendable {
    case string(String)
    case integer(Int)
    case double(Double)
    case bool(Bool)
    case none
    case list([TemplateExpression])
    case tuple([TemplateExpression])
    case dictionary([(TemplateExpression, TemplateExpression)])
    case variable(String)
    /// `object.name`
    case attribute(TemplateExpression, String)
    /// `object[key]`
    case item(TemplateExpression, TemplateExpression)
    /// `object[start:stop:step]`
    case slice(TemplateExpression, TemplateExpression?, TemplateExpression?, TemplateExpression?)
    /// `callee(arguments, name=value)`
    case call(TemplateExpression, [TemplateExpression], [(String, TemplateExpression)])
    /// `value | name(arguments)`
    case filter(TemplateExpression, String, [TemplateExpression], [(String, TemplateExpression)])
    /// `value is [not] name(arguments)`
    case test(TemplateExpression, String, [TemplateExpression], negated: Bool)
    /// Arithmetic, `~`, comparisons and `in`/`not in`.
    case binary(String, TemplateExpression, TemplateExpression)
    case and(TemplateExpression, TemplateExpression)
    case or(TemplateExpression, TemplateExpression)
    case not(TemplateExpression)
    case negate(TemplateExpression)
    /// `value if condition else other` (`other` missing: undefined).
    case conditional(TemplateExpression, condition: TemplateExpression, otherwise: TemplateExpression?)
}

extension TemplateExpression {
    var isConditional: Bool { if case .conditional = self { true } else { false } }
}
