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
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}
