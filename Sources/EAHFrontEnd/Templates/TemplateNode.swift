/// A parsed template statement; `line` is where it starts, for error messages.
indirect enum TemplateNode: Sendable {
    case text(String)
    case output(TemplateExpression, line: Int)
    /// `if`/`elif` branches in order, then the `else` body.
    case conditional([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode], line: Int)
    /// `for targets in iterable [if filter]` … `else` … `endfor`.
    case loop(targets: [String], iterable: TemplateExpression, filter: TemplateExpression?, body: [TemplateNode], otherwise: [TemplateNode], line: Int)
    /// `set name = value` or `set namespace.attribute = value`.
    case assign(targets: [String], attribute: String?, TemplateExpression, line: Int)
    /// `set name` … `endset`.
    case assignBlock(String, body: [TemplateNode], line: Int)
    /// transformers' `generation` … `endgeneration`: renders its body.
    case generation([TemplateNode])
    /// `macro name(parameters)` … `endmacro`; a parameter's default is evaluated at each call.
    case macro(name: String, parameters: [TemplateParameter], body: [TemplateNode], line: Int)
    /// `call [(parameters)] macro(arguments)` … `endcall`: the body becomes the macro's `caller`.
    case callBlock(TemplateExpression, parameters: [TemplateParameter], body: [TemplateNode], line: Int)
    /// `filter name(arguments)` … `endfilter`: the body's output through a filter.
    case filterBlock(name: String, [TemplateExpression], [(String, TemplateExpression)], body: [TemplateNode], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

/// A macro parameter and its default value, if any.
struct TemplateParameter: Sendable {
    let name: String
    let defaultValue: TemplateExpression?
}
