import EAHCheckpoint

/// What is wrong with a chat template (a Jinja2 `chat_template`), with rendering it, or with
/// finding one for a model.
///
/// Thrown inside a `CheckpointError` that names the template's file; tests match these cases
/// exactly. `line` is the template line (1-based) of the construct at fault.
public enum TemplateProblem: CheckpointProblem, Equatable {
    /// The template is not valid Jinja2 (`detail` says what was expected).
    case syntax(String, line: Int)
    /// The template uses Jinja2 that eah's engine does not implement (`construct` names it,
    /// e.g. `tag 'macro'` or `filter 'wordwrap'`).
    case unsupported(String, line: Int)
    /// The template reads an attribute or item of an undefined value, or calls one.
    case undefined(String, line: Int)
    /// An operation got values of the wrong type (e.g. `+` of a string and an integer).
    case typeMismatch(String, line: Int)
    /// The template did something the sandbox forbids (`what` names it).
    case refused(String, line: Int)
    /// The template called `raise_exception(message)`.
    case raised(String)
    /// Rendering went over a safety limit (`what` names it: loop iterations, output size, …).
    case limitExceeded(String)
    /// No built-in template has this name (`known` lists the ones that exist).
    case unknownTemplateName(String, known: [String])
    /// The model folder has no chat template and nothing names one.
    case noTemplate
    /// A file's `chat_template` is neither a string nor a list of `{name, template}` objects,
    /// or its list has no template called `default`.
    case malformedTemplateEntry(String)
    /// `--template` was given with a `.jinja` file as the source, which is a template already.
    case templateNameWithJinjaSource
    /// A template context (`--context`) is not a JSON object (`found` is its JSON type).
    case contextNotAnObject(found: String)

    public var message: String {
        switch self {
        case .syntax(let detail, let line): "chat template syntax error on line \(line): \(TerminalText.escape(detail))"
        case .unsupported(let construct, let line): "chat template line \(line) uses \(TerminalText.escape(construct)), which eah's template engine does not support"
        case .undefined(let what, let line): "chat template line \(line): \(TerminalText.escape(what)) is undefined"
        case .typeMismatch(let what, let line): "chat template line \(line): \(TerminalText.escape(what))"
        case .refused(let what, let line): "chat template line \(line) stores \(TerminalText.escape(what)), which the template sandbox refuses"
        case .raised(let text): "the chat template raised an exception: \(TerminalText.escape(text))"
        case .limitExceeded(let what): "rendering the chat template exceeded the limit on \(what)"
        case .unknownTemplateName(let name, let known): "there is no conversation template named \"\(TerminalText.escape(name))\" (known: \(known.joined(separator: ", ")))"
        case .noTemplate: "the model folder has no chat template (chat_template.jinja, chat_template.json, processor_config.json or tokenizer_config.json) and its config.json names none"
        case .malformedTemplateEntry(let detail): "chat_template \(TerminalText.escape(detail))"
        case .templateNameWithJinjaSource: "--template picks a model's template, but the source is a .jinja template already"
        case .contextNotAnObject(let found): "the template context is \(found), not a JSON object of template variables"
        }
    }

    public var fix: String? {
        switch self {
        case .syntax, .typeMismatch, .undefined, .refused: "fix the template, or pass --template NAME to use a built-in one"
        case .unsupported: "rewrite that part of the template with supported constructs, or pass --template NAME to use a built-in one"
        case .raised: "the conversation does not fit what the template accepts; change the messages or pass --template NAME"
        case .limitExceeded: "the template loops or grows without bound; fix it or pass --template NAME"
        case .unknownTemplateName: "pass one of the known names"
        case .noTemplate: "pass --template NAME (vicuna_v1 for original LLaVA-1.5, llava_hf for llava-hf checkpoints, or plain)"
        case .templateNameWithJinjaSource: "drop --template, or give the model as the source"
        case .contextNotAnObject: "write an object such as {\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": true}"
        case .malformedTemplateEntry: "write the template as a string, or as a list of {\"name\", \"template\"} objects including \"default\""
        }
    }

    public var isUsageError: Bool {
        switch self {
        case .unknownTemplateName, .noTemplate, .templateNameWithJinjaSource: true
        default: false
        }
    }
}
