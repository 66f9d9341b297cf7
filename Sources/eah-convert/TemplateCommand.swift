import ArgumentParser
import EAHCheckpoint
import EAHFrontEnd
import EAHRuntime
import EAHCore

/// `eah-convert template SOURCE --context FILE.json [--json]`: the prompt a chat template makes.
struct TemplateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template",
        abstract: "Render a chat template as transformers' apply_chat_template(..., tokenize=False) does.",
        discussion: """
            The context is a JSON object holding every template variable: messages, \
            add_generation_prompt, bos_token, eos_token, tools, documents and any other keyword the \
            template reads. Its values win over the model's own special tokens. The rendered text is \
            printed exactly, without an added newline; --json prints {"schema": 1, "text": ..., \
            "ids": [...]}, the ids (without an added BOS, as apply_chat_template tokenizes) when the \
            source has a tokenizer.
            """
    )

    @Argument(help: "A model folder, GGUF or EAH bundle (its chat template and special tokens), or a .jinja file.")
    var source: String

    @Option(help: "A JSON file of template variables ('-': standard input).")
    var context: String

    @Option(help: "A built-in template (vicuna_v1, llava_hf, plain), a named template of the model, or a .jinja file; wins over the model's own.")
    var template: String?

    @Flag(help: "Print {\"schema\": 1, \"text\": ..., \"ids\": [...]} instead of the text.")
    var json = false

    func run() throws {
        let variables = try Self.readContext(context)
        let source = try ChatTemplateSource(path: self.source, templateName: template)
        let text = try source.template.render(context: variables)
        guard json else {
            StandardStream.output.write(text)
            return
        }
        var members: [(String, JSONValue)] = [("schema", .integer(1)), ("text", .string(text))]
        if let tokenizer = try source.tokenizer() {
            members.append(("ids", .array(tokenizer.encode(text, addBOS: false).map(JSONValue.integer))))
        }
        StandardStream.output.write(JSONValue.object(members).serialized + "\n")
    }

    /// The context file (or standard input for `-`) as template variables.
    static func readContext(_ path: String) throws(CheckpointError) -> [String: TemplateValue] {
        let name = path == "-" ? "<stdin>" : path
        let bytes: [UInt8]
        if path == "-" {
            bytes = readStandardInput()
        } else {
            let file = try MappedFile(path: path)
            bytes = withExtendedLifetime(file) { Array(file.bytes) }
        }
        let parsed: JSONValue
        do throws(JSONProblem) {
            parsed = try JSONParser.parse(bytes)
        } catch {
            throw CheckpointError(path: name, problem: error)
        }
        do throws(TemplateProblem) {
            return try ChatTemplate.context(json: parsed)
        } catch {
            throw CheckpointError(path: name, problem: error)
        }
    }

    private static func readStandardInput() -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += buffer[0..<count]
            } else if count == 0 || errno != EINTR {
                return bytes
            }
        }
    }
}
