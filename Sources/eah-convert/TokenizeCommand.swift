import ArgumentParser
import EAHCheckpoint
import EAHFrontEnd
import EAHCore

/// `eah-convert tokenize SOURCE [TEXT] [--jsonl FILE] [--no-bos] [--json]`.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Token ids of text, with a model's tokenizer (tokenizer.model, tokenizer.json, vocab.json with merges.txt, or a GGUF's).",
        discussion: "With --jsonl, FILE holds one JSON string per line; the output is one JSON array of ids per line, in order."
    )

    @Argument(help: "A tokenizer file, a model folder or a GGUF.")
    var source: String

    @Argument(help: "The text to tokenize.")
    var text: String?

    @Option(help: "A file of JSON strings, one per line.")
    var jsonl: String?

    @Flag(help: "Do not add the BOS token.")
    var noBos = false

    @Flag(help: "Print {\"schema\": 1, \"ids\": [...]} instead of ids separated by spaces.")
    var json = false

    func validate() throws {
        guard (text != nil) != (jsonl != nil) else { throw ValidationError("give TEXT or --jsonl FILE (one of them)") }
    }

    func run() throws {
        let tokenizer = try TokenizerFile.load(path: try Self.tokenizerPath(source))
        if let text {
            let ids = tokenizer.encode(text, addBOS: !noBos)
            if json {
                print(JSONValue.object([("schema", .integer(1)), ("ids", .array(ids.map(JSONValue.integer)))]).serialized)
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
            return
        }
        guard let jsonl else { return }
        let file = try MappedFile(path: jsonl)
        let lines = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }.split(separator: "\n", omittingEmptySubsequences: false)
        var output = ""
        for (index, line) in lines.enumerated() {
            if line.isEmpty && index == lines.count - 1 { break }
            guard case .string(let value) = try Self.parse(String(line), file: jsonl, line: index + 1) else {
                throw CheckpointError(path: jsonl, problem: JSONLinesProblem.notAString(line: index + 1))
            }
            output += JSONValue.array(tokenizer.encode(value, addBOS: !noBos).map(JSONValue.integer)).serialized + "\n"
        }
        StandardStream.output.write(output)
    }

    static func parse(_ line: String, file: String, line number: Int) throws(CheckpointError) -> JSONValue {
        do throws(JSONProblem) {
            return try JSONParser.parse(line)
        } catch {
            throw CheckpointError(path: file, problem: JSONLinesProblem.malformedLine(line: number, reason: error.message))
        }
    }

    /// A folder's tokenizer file (`TokenizerFile.path(inFolder:)`), else the path itself.
    static func tokenizerPath(_ source: String) throws(CheckpointError) -> String {
        var status = stat()
        guard stat(source, &status) == 0 else { throw CheckpointError(path: source, problem: FileProblem.notFound) }
        guard (status.st_mode & S_IFMT) == S_IFDIR else { return source }
        if let path = TokenizerFile.path(inFolder: source) { return path }
        throw CheckpointError(path: source, problem: FileProblem.isDirectoryWithoutCheckpoint)
    }
}
