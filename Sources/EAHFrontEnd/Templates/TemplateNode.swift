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
    /// `with name = value, …` … `endwith`: the body in a scope holding those names.
    case scoped([(String, TemplateExpression)], body: [TemplateNode], line: Int)
    case breakLoop(line: Int)
    case continueLoop(line: Int)
}

/// A macro parameter and its default value, if any.
struct TemplateParameter: Sendable {
    let name: String
    let defaultValue: TemplateExpression?
}

extension TemplateNode {
    /// Whether `nodes` read the variable `name` anywhere (Jinja2 gives a macro `varargs`,
    /// `kwargs` and `caller` only when its body reads them).
    static func read(_ name: String, in nodes: [TemplateNode]) -> Bool {
        nodes.contains { $0.reads(name) }
    }

    private func reads(_ name: String) -> Bool {
        switch self {
        case .text, .breakLoop, .continueLoop: false
        case .output(let e, _): e.reads(name)
        case .conditional(let branches, let otherwise, _):
            branches.contains { $0.0.reads(name) || Self.read(name, in: $0.1) } || Self.read(name, in: otherwise)
        case .loop(_, let iterable, let filter, let body, let otherwise, _):
            iterable.reads(name) || (filter?.reads(name) ?? false) || Self.read(name, in: body) || Self.read(name, in: otherwise)
        case .assign(_, _, let e, _): e.reads(name)
        case .assignBlock(_, let body, _), .generation(let body): Self.read(name, in: body)
        case .scoped(let assignments, let body, _): assignments.contains { $0.1.reads(name) } || Self.read(name, in: body)
        case .macro(_, let parameters, let body, _):
            parameters.contains { $0.defaultValue?.reads(name) ?? false } || Self.read(name, in: body)
        case .callBlock(let e, let parameters, let body, _):
            e.reads(name) || parameters.contains { $0.defaultValue?.reads(name) ?? false } || Self.read(name, in: body)
        case .filterBlock(_, let arguments, let keywords, let body, _):
            arguments.contains { $0.reads(name) } || keywords.contains { $0.1.reads(name) } || Self.read(name, in: body)
        }
    }
}

extension TemplateExpression {
    /// Whether the expression reads the variable `name`.
    func reads(_ name: String) -> Bool {
        switch self {
        case .string, .integer, .double, .bool, .none: false
        case .variable(let n): n == name
        case .list(let items), .tuple(let items): items.contains { $0.reads(name) }
        case .dictionary(let pairs): pairs.contains { $0.0.reads(name) || $0.1.reads(name) }
        case .attribute(let e, _), .not(let e), .negate(let e): e.reads(name)
        case .item(let a, let b), .binary(_, let a, let b), .and(let a, let b), .or(let a, let b): a.reads(name) || b.reads(name)
        case .slice(let e, let a, let b, let c): e.reads(name) || [a, b, c].contains { $0?.reads(name) ?? false }
        case .call(let e, let arguments, let keywords), .filter(let e, _, let arguments, let keywords):
            e.reads(name) || arguments.contains { $0.reads(name) } || keywords.contains { $0.1.reads(name) }
        case .test(let e, _, let arguments, _): e.reads(name) || arguments.contains { $0.reads(name) }
        case .conditional(let a, let condition, let b): a.reads(name) || condition.reads(name) || (b?.reads(name) ?? false)
        }
    }
}
