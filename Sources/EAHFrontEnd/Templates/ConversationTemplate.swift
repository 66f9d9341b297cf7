import EAHCheckpoint

/// A model's conversation template: turns a conversation into the text prompt the model
/// expects, for one question about one image (`render(prompt:systemPrompt:)`) or for any
/// template context (`render(context:)`, what `eah-convert template` prints).
///
/// The template is a model's Jinja2 chat template, rendered as transformers 5.24 renders it
/// (a question is `[{"role": "user", "content": [{"type": "image"}, {"type": "text", "text":
/// prompt}]}]`, preceded by a system message whose content is one text part when there is a
/// system prompt), or one of the built-in templates (`builtInNames`). The image is the text
/// `<image>`, which the caller later expands into image features.
public struct ConversationTemplate: Sendable {
    /// The names `builtIn(_:)` and `--template` accept.
    public static let builtInNames = ["vicuna_v1", "llava_hf", "plain"]

    /// LLaVA-1.5's default system message (`conv_vicuna_v1.system`).
    public static let vicunaSystemPrompt = "A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, detailed, and polite answers to the human's questions."

    /// llava-hf/llava-1.5-7b-hf's chat template, which the `llava_hf` built-in renders.
    public static let llavaHFSource = "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% if message['role'] != 'assistant' %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}{% else %}{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{% generation %}{{ content['text'] + ' '}}{% endgeneration %}{% endfor %}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"

    enum Body: Sendable {
        case jinja(ChatTemplate)
        case vicuna
        case plain
    }

    /// The built-in name, or the file (and JSON key) the template was read from.
    public let name: String
    /// The path errors name: the template's file, or `built-in:NAME`.
    public let origin: String
    /// `bos_token`, `eos_token`, `unk_token`, `pad_token` as the template sees them.
    public let specialTokens: [String: String]
    let body: Body

    private init(name: String, origin: String, body: Body, specialTokens: [String: String]) {
        self.name = name
        self.origin = origin
        self.body = body
        self.specialTokens = specialTokens
    }

    /// The special tokens templates see when `tokenizer_config.json` names none (LLaMA's).
    public static let defaultSpecialTokens = ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"]

    /// A Jinja2 chat template; `origin` names it in errors.
    public init(jinja source: String, name: String = "chat_template", origin: String = "chat_template", specialTokens: [String: String] = ConversationTemplate.defaultSpecialTokens) throws(CheckpointError) {
        do throws(TemplateProblem) {
            self.init(name: name, origin: origin, body: .jinja(try ChatTemplate(source: source)), specialTokens: specialTokens)
        } catch {
            throw CheckpointError(path: origin, problem: error)
        }
    }

    /// A built-in template: `vicuna_v1` (original LLaVA-1.5, also called `llava_v1`),
    /// `llava_hf` (llava-1.5-hf's chat template) or `plain` (`<image>\n` + prompt).
    public static func builtIn(_ name: String) throws(CheckpointError) -> ConversationTemplate {
        let origin = "built-in:\(name)"
        switch name {
        case "vicuna_v1", "llava_v1": return ConversationTemplate(name: "vicuna_v1", origin: origin, body: .vicuna, specialTokens: defaultSpecialTokens)
        case "plain": return ConversationTemplate(name: "plain", origin: origin, body: .plain, specialTokens: defaultSpecialTokens)
        case "llava_hf": return try ConversationTemplate(jinja: llavaHFSource, name: "llava_hf", origin: origin)
        default: throw CheckpointError(path: name, problem: TemplateProblem.unknownTemplateName(name, known: builtInNames))
        }
    }

    /// The template for the model in `modelDirectory`.
    ///
    /// Precedence, first found wins:
    /// 1. `explicitName` (`--template`): a template of that name in the model's
    ///    `tokenizer_config.json` list, else a built-in, else a path to a `.jinja` file;
    /// 2. the processor's template, as transformers 5.24's `ProcessorMixin` loads it: a
    ///    `chat_template` key in `processor_config.json`, else the legacy `chat_template.json`,
    ///    else `chat_template.jinja` (5.24 reads the `.jinja` only without the `.json`);
    /// 3. the tokenizer's `chat_template` in `tokenizer_config.json` (a string, or the
    ///    `default` entry of a list of `{name, template}`);
    /// 4. what `config.json` implies: its `conv_mode` if built in, `vicuna_v1` for original
    ///    LLaVA (`model_type` `llava_llama` or a `llava-v1` name, as LLaVA's run_llava picks
    ///    `llava_v1`), `llava_hf` for `model_type` `llava`.
    /// Errors name the file at fault; a folder with none of these is `TemplateProblem.noTemplate`.
    public static func resolve(modelDirectory: String, explicitName: String? = nil) throws(CheckpointError) -> ConversationTemplate {
        let directory = modelDirectory.hasSuffix("/") ? String(modelDirectory.dropLast()) : modelDirectory
        let tokenizerConfigPath = directory + "/tokenizer_config.json"
        let tokenizerConfig = try readJSON(tokenizerConfigPath)
        let tokens = specialTokens(from: tokenizerConfig)

        if let explicitName {
            if let entry = tokenizerConfig?["chat_template"], case .array = entry,
               let source = try namedTemplate(entry, explicitName, path: tokenizerConfigPath) {
                return try ConversationTemplate(jinja: source, name: "tokenizer_config.json:\(explicitName)", origin: tokenizerConfigPath, specialTokens: tokens)
            }
            if builtInNames.contains(explicitName) || explicitName == "llava_v1" { return try builtIn(explicitName) }
            if explicitName.hasSuffix(".jinja"), let source = try readText(explicitName) {
                return try ConversationTemplate(jinja: source, name: explicitName, origin: explicitName, specialTokens: tokens)
            }
            throw CheckpointError(path: explicitName, problem: TemplateProblem.unknownTemplateName(explicitName, known: builtInNames))
        }

        let processorPath = directory + "/processor_config.json"
        if let entry = try readJSON(processorPath)?["chat_template"], entry != .null {
            let source = try templateSource(entry, path: processorPath)
            return try ConversationTemplate(jinja: source, name: "processor_config.json", origin: processorPath, specialTokens: tokens)
        }
        let legacyPath = directory + "/chat_template.json"
        if let legacy = try readJSON(legacyPath) {
            guard let entry = legacy["chat_template"] else {
                throw CheckpointError(path: legacyPath, problem: TemplateProblem.malformedTemplateEntry("is missing from chat_template.json"))
            }
            return try ConversationTemplate(jinja: try templateSource(entry, path: legacyPath), name: "chat_template.json", origin: legacyPath, specialTokens: tokens)
        }
        let jinjaPath = directory + "/chat_template.jinja"
        if let source = try readText(jinjaPath) {
            return try ConversationTemplate(jinja: source, name: "chat_template.jinja", origin: jinjaPath, specialTokens: tokens)
        }
        if let entry = tokenizerConfig?["chat_template"], entry != .null {
            let source = try templateSource(entry, path: tokenizerConfigPath)
            return try ConversationTemplate(jinja: source, name: "tokenizer_config.json", origin: tokenizerConfigPath, specialTokens: tokens)
        }
        if let config = try readJSON(directory + "/config.json"), let name = impliedTemplateName(config: config) {
            return try builtIn(name)
        }
        throw CheckpointError(path: directory, problem: TemplateProblem.noTemplate)
    }

    /// The built-in template a `config.json` implies, if any.
    static func impliedTemplateName(config: JSONValue) -> String? {
        if case .string(let mode)? = config["conv_mode"], builtInNames.contains(mode) || mode == "llava_v1" { return mode }
        var modelType = ""
        if case .string(let type)? = config["model_type"] { modelType = type }
        var modelName = ""
        if case .string(let n)? = config["_name_or_path"] { modelName = n.lowercased() }
        if modelType == "llava_llama" || modelName.contains("llava-v1") || modelName.contains("llava_v1") { return "vicuna_v1" }
        if modelType == "llava" { return "llava_hf" }
        return nil
    }

    /// Renders one question about one image (none without `hasImage`: a text-only prompt) and an
    /// optional system prompt, with the assistant turn opened; a template's `raise_exception` or
    /// a runtime error is thrown as a `TemplateProblem` naming `origin`.
    public func render(prompt: String, systemPrompt: String? = nil, hasImage: Bool = true) throws(CheckpointError) -> String {
        var messages: [TemplateValue] = []
        if let systemPrompt {
            messages.append(.dictionary([("role", .string("system")), ("content", .list([.dictionary([("type", .string("text")), ("text", .string(systemPrompt))])]))]))
        }
        messages.append(.dictionary([
            ("role", .string("user")),
            ("content", .list((hasImage ? [.dictionary([("type", .string("image"))])] : []) + [.dictionary([("type", .string("text")), ("text", .string(prompt))])])),
        ]))
        return try render(context: ["messages": .list(messages), "add_generation_prompt": .bool(true)])
    }

    /// Renders `context` (every template variable: `messages`, `add_generation_prompt`, `tools`,
    /// …) as transformers' `render_jinja_template` does (see `ChatTemplate.transformersContext`);
    /// the template's special tokens fill the names `context` does not give. `now` fixes the
    /// clock of `strftime_now` (seconds since 1970, UTC).
    public func render(context: [String: TemplateValue], now: Int? = nil) throws(CheckpointError) -> String {
        var variables = ChatTemplate.transformersContext(context)
        for (key, value) in specialTokens where variables[key] == nil { variables[key] = .string(value) }
        do throws(TemplateProblem) {
            switch body {
            case .jinja(let template): return try template.render(variables, now: now)
            case .vicuna: return try Self.renderVicuna(variables)
            case .plain: return try Self.renderPlain(variables)
            }
        } catch {
            throw CheckpointError(path: origin, problem: error)
        }
    }

    /// The messages of a context as (role, text) pairs; a list content puts `<image>\n` for each
    /// image part first, then the text parts joined by spaces (as LLaVA's prompts place it).
    private static func turns(_ variables: [String: TemplateValue]) throws(TemplateProblem) -> [(role: String, text: String)] {
        guard case .list(let messages)? = variables["messages"] else { throw .typeMismatch("'messages' must be a list of {\"role\", \"content\"} objects", line: 1) }
        var turns: [(role: String, text: String)] = []
        for message in messages {
            guard case .string(let role)? = message["role"] else { throw .typeMismatch("every message needs a string 'role'", line: 1) }
            switch message["content"] {
            case .string(let text)?: turns.append((role, text))
            case .list(let parts)?:
                let images = parts.filter { $0["type"] == .string("image") }.count
                let texts = parts.compactMap { part -> String? in if case .string(let t)? = part["text"] { t } else { nil } }
                turns.append((role, String(repeating: "<image>\n", count: images) + texts.joined(separator: " ")))
            default: turns.append((role, ""))
            }
        }
        return turns
    }

    /// LLaVA's `conv_vicuna_v1.get_prompt()` (SeparatorStyle.TWO: sep " ", sep2 "</s>"): the
    /// system message (or LLaVA's default), then `USER: …` and `ASSISTANT: …` turns, and
    /// `ASSISTANT:` for the generation prompt.
    private static func renderVicuna(_ variables: [String: TemplateValue]) throws(TemplateProblem) -> String {
        var system = vicunaSystemPrompt
        var text = ""
        let separators = [" ", "</s>"]
        var index = 0
        for turn in try turns(variables) {
            switch turn.role {
            case "system": system = turn.text; continue
            case "user": text += "USER: "
            case "assistant": text += "ASSISTANT: "
            default: throw .raised("vicuna_v1 has only system, user and assistant roles, not '\(turn.role)'")
            }
            text += turn.text + separators[index % 2]
            index += 1
        }
        if variables["add_generation_prompt"]?.isTruthy ?? false { text += "ASSISTANT:" }
        return system + " " + text
    }

    /// The `plain` template: the system text and a newline, then the user turns' text.
    private static func renderPlain(_ variables: [String: TemplateValue]) throws(TemplateProblem) -> String {
        let turns = try turns(variables)
        let system = turns.filter { $0.role == "system" }.map { $0.text + "\n" }.joined()
        return system + turns.filter { $0.role == "user" }.map(\.text).joined(separator: "\n")
    }

    /// The template a GGUF carries (`tokenizer.chat_template`) with the special tokens its
    /// `tokenizer.ggml.*_token_id` entries name; nil when it has no template.
    public static func fromGGUF(path: String, metadata: [MetadataEntry]) throws(CheckpointError) -> ConversationTemplate? {
        var values: [String: MetadataValue] = [:]
        for entry in metadata where entry.key.hasPrefix("tokenizer.") { values[entry.key] = entry.value }
        guard let entry = values["tokenizer.chat_template"] else { return nil }
        guard let source = entry.string else {
            throw CheckpointError(path: path, problem: TemplateProblem.malformedTemplateEntry("(tokenizer.chat_template) is not a string"))
        }
        var tokens: [String: String] = [:]
        if case .array(_, let pieces)? = values["tokenizer.ggml.tokens"] {
            for (name, key) in [("bos", "bos"), ("eos", "eos"), ("unk", "unknown"), ("pad", "padding")] {
                if let id = values["tokenizer.ggml.\(key)_token_id"]?.integer, pieces.indices.contains(id), let piece = pieces[id].string {
                    tokens["\(name)_token"] = piece
                }
            }
        }
        return try ConversationTemplate(jinja: source, name: "tokenizer.chat_template", origin: path, specialTokens: tokens)
    }

    // MARK: Reading the model folder

    /// The file's text, or nil when it does not exist.
    private static func readText(_ path: String) throws(CheckpointError) -> String? {
        let file: MappedFile
        do {
            file = try MappedFile(path: path)
        } catch {
            if let problem = error.problem as? FileProblem, case .notFound = problem { return nil }
            throw error
        }
        if let offset = JSONParser.firstInvalidUTF8(file.bytes) {
            throw CheckpointError(path: path, problem: TemplateProblem.syntax("the file is not UTF-8 (invalid byte at offset \(offset))", line: 1))
        }
        return String(decoding: file.bytes, as: UTF8.self)
    }

    private static func readJSON(_ path: String) throws(CheckpointError) -> JSONValue? {
        guard let text = try readText(path) else { return nil }
        do throws(JSONProblem) {
            return try JSONParser.parse(text)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// A `chat_template` value: a string, or the `default` of a list of `{name, template}`.
    private static func templateSource(_ entry: JSONValue, path: String) throws(CheckpointError) -> String {
        switch entry {
        case .string(let source): return source
        case .array:
            if let source = try namedTemplate(entry, "default", path: path) { return source }
            throw CheckpointError(path: path, problem: TemplateProblem.malformedTemplateEntry("lists no template named \"default\""))
        case .object(let members):
            // transformers also accepts a {name: template} mapping.
            if case .string(let source)? = members.first(where: { $0.0 == "default" })?.1 { return source }
            throw CheckpointError(path: path, problem: TemplateProblem.malformedTemplateEntry("lists no template named \"default\""))
        default:
            throw CheckpointError(path: path, problem: TemplateProblem.malformedTemplateEntry("is neither a string nor a list of {\"name\", \"template\"} objects"))
        }
    }

    private static func namedTemplate(_ entry: JSONValue, _ name: String, path: String) throws(CheckpointError) -> String? {
        guard case .array(let items) = entry else { return nil }
        for item in items {
            guard case .string(let itemName)? = item["name"], case .string(let source)? = item["template"] else {
                throw CheckpointError(path: path, problem: TemplateProblem.malformedTemplateEntry("has a list entry without a string \"name\" and \"template\""))
            }
            if itemName == name { return source }
        }
        return nil
    }

    /// `bos_token` and friends from `tokenizer_config.json` (strings or `{"content": …}`),
    /// over LLaMA's defaults.
    private static func specialTokens(from config: JSONValue?) -> [String: String] {
        var tokens = defaultSpecialTokens
        for key in ["bos_token", "eos_token", "unk_token", "pad_token"] {
            switch config?[key] {
            case .string(let s)?: tokens[key] = s
            case .object?:
                if case .string(let s)? = config?[key]?["content"] { tokens[key] = s }
            default: break
            }
        }
        return tokens
    }
}
