import EAHCheckpoint

/// A compiled Jinja2 chat template, rendered as transformers' `apply_chat_template` renders it
/// (sandboxed Jinja2 with `trim_blocks`, `lstrip_blocks`, `raise_exception`, `strftime_now`,
/// `namespace`, `tojson` without HTML escaping, and the `generation` block).
///
/// The engine has no file access and no Python objects; it implements what Hub chat templates
/// use (statements, macros and call blocks, filters, tests, string and dict methods, Python's
/// printing of values; the README lists it) and refuses the rest with
/// `TemplateProblem.unsupported`, naming the line. Rendering is bounded by `Limits` and a
/// macro-recursion depth, so a hostile template cannot hang or exhaust memory.
public struct ChatTemplate: Sendable {
    /// Bounds on one rendering.
    public struct Limits: Sendable {
        /// Statements, expressions and loop iterations evaluated.
        public var maxSteps: Int = 2_000_000
        /// Bytes of output, and of any one string built on the way.
        public var maxOutputBytes: Int = 8 << 20
        /// Items in any one list built on the way.
        public var maxItems: Int = 1 << 20
        /// Bytes of all the strings and lists built in one render, together (a string kept in a
        /// list and rebuilt over and over counts each time): the template's allocation budget.
        public var maxAllocatedBytes: Int = 256 << 20

        public init() {}
    }

    /// The template text as given.
    public let source: String
    let nodes: [TemplateNode]

    /// Compiles `source`; unknown tags, filters and tests are refused here, as Jinja2 does
    /// (a filter or test inside an `if` fails only when evaluated, as in Jinja2).
    public init(source: String) throws(TemplateProblem) {
        self.source = source
        nodes = try TemplateParser.parse(source)
    }

    /// Renders with `variables` as the template's context (e.g. `messages`,
    /// `add_generation_prompt`, `bos_token`). `now` (seconds since 1970, read as UTC) fixes the
    /// clock `strftime_now` reads; by default it reads the local time.
    public func render(_ variables: [String: TemplateValue], limits: Limits = Limits(), now: Int? = nil) throws(TemplateProblem) -> String {
        try TemplateRenderer.render(nodes, variables: variables, limits: limits, now: now)
    }

    /// The template variables of a JSON object (`eah-convert template --context`).
    public static func context(json: JSONValue) throws(TemplateProblem) -> [String: TemplateValue] {
        guard case .object(let members) = json else {
            let found = switch json {
            case .array: "an array"
            case .string: "a string"
            case .null: "null"
            case .bool: "a boolean"
            default: "a number"
            }
            throw .contextNotAnObject(found: found)
        }
        var variables: [String: TemplateValue] = [:]
        for (key, value) in members { variables[key] = TemplateValue(json: value) }
        return variables
    }

    /// The context transformers' `render_jinja_template` hands a template for `context`:
    /// `tools` and `documents` are `None` and `add_generation_prompt` false unless given, and a
    /// message's reasoning (`reasoning_content`, `thinking` or `reasoning`, the first present)
    /// is also given as `thinking` (before its own keys) and as `reasoning_content`.
    public static func transformersContext(_ context: [String: TemplateValue]) -> [String: TemplateValue] {
        var variables = context
        for key in ["tools", "documents"] where variables[key] == nil { variables[key] = TemplateValue.none }
        if variables["add_generation_prompt"] == nil { variables["add_generation_prompt"] = .bool(false) }
        if case .list(let messages)? = variables["messages"] {
            variables["messages"] = .list(messages.map(aliasingReasoning))
        }
        return variables
    }

    private static let reasoningFields = ["reasoning_content", "thinking", "reasoning"]

    /// transformers' `_alias_reasoning_fields` for one message.
    private static func aliasingReasoning(_ message: TemplateValue) -> TemplateValue {
        guard case .dictionary(let members) = message else { return message }
        let present = { (key: String) -> TemplateValue? in
            guard let value = members.first(where: { $0.0 == .string(key) })?.1, value != .none else { return nil }
            return value
        }
        guard let reasoning = reasoningFields.lazy.compactMap(present).first else { return message }
        // Python's {"thinking": r, **message, "reasoning_content": r}: a key keeps the place it
        // was first given and takes the last value given.
        var aliased: [(TemplateValue, TemplateValue)] = [("thinking", reasoning)]
        for (key, value) in members + [("reasoning_content", reasoning)] {
            if let index = aliased.firstIndex(where: { $0.0 == key }) { aliased[index].1 = value } else { aliased.append((key, value)) }
        }
        return .dictionary(aliased)
    }
}
