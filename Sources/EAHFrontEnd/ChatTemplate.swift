/// A compiled Jinja2 chat template, rendered as transformers' `apply_chat_template` renders it
/// (sandboxed Jinja2 with `trim_blocks`, `lstrip_blocks`, `raise_exception`, `strftime_now`,
/// `namespace`, `tojson` without HTML escaping, and the `generation` block).
///
/// The engine has no file access and no Python objects; it implements the subset of Jinja2
/// that chat templates use and refuses the rest with `TemplateProblem.unsupported`. Rendering
/// is bounded by `Limits`, so a hostile template cannot hang or exhaust memory.
public struct ChatTemplate: Sendable {
    /// Bounds on one rendering.
    public struct Limits: Sendable {
        /// Statements, expressions and loop iterations evaluated.
        public var maxSteps: Int = 2_000_000
        /// Bytes of output, and of any one string built on the way.
        public var maxOutputBytes: Int = 8 << 20
        /// Items in any one list built on the way.
        public var maxItems: Int = 1 << 20

        public init() {}
    }

    /// The template text as given.
    public let source: String
    let nodes: [TemplateNode]

    /// Compiles `source`; unknown tags, filters and tests are refused here, as Jinja2 does.
    public init(source: String) throws(TemplateProblem) {
        self.source = source
        nodes = try TemplateParser.parse(source)
    }

    /// Renders with `variables` as the template's context (e.g. `messages`,
    /// `add_generation_prompt`, `bos_token`).
    public func render(_ variables: [String: TemplateValue], limits: Limits = Limits()) throws(TemplateProblem) -> String {
        try TemplateRenderer.render(nodes, variables: variables, limits: limits)
    }
}
