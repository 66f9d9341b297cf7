import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

/// `eah-convert template` and `eah-run --verbose-prompt` against transformers' renderings
/// (tools/make_template_corpus_fixtures.py, tools/make_e2e_fixtures.py).
@Suite("eah-convert template and eah-run --verbose-prompt")
struct TemplateCommandTests {
    static func fixture(_ name: String) throws -> JSONValue {
        let file = try MappedFile(path: Fixtures.path(name))
        return try withExtendedLifetime(file) { try JSONParser.parse(file.bytes) }
    }

    /// One corpus case: the template file, its context as JSON, and what transformers rendered
    /// (or the exception it raised).
    static func corpusCase(_ template: String, _ conversation: String, generation: Bool) throws -> (path: String, context: String, expected: JSONValue) {
        let corpus = try fixture("templates/corpus/renders.json")
        guard case .array(let cases)? = corpus["cases"],
              let item = cases.first(where: { $0["template"] == .string(template) && $0["conversation"] == .string(conversation)
                                               && $0["add_generation_prompt"] == .bool(generation) }),
              case .object(var context)? = corpus["conversations"]?[conversation]?["kwargs"],
              case .object(let special)? = corpus["special_tokens"] else { throw FixtureError.missing }
        context.insert(("messages", try #require(corpus["conversations"]?[conversation]?["messages"])), at: 0)
        context += special
        context.append(("add_generation_prompt", .bool(generation)))
        return (Fixtures.path("templates/corpus/" + template), JSONValue.object(context).serialized, item["output"] ?? item["error"] ?? .null)
    }

    enum FixtureError: Error { case missing }

    @Test("a .jinja source prints exactly what transformers renders, from a file or standard input")
    func rendersJinjaExactly() throws {
        let directory = TemporaryDirectory()
        for (template, conversation) in [("Qwen-Qwen2.5-7B-Instruct.jinja", "tools"), ("google-gemma-4-31B-it.jinja", "unicode_whitespace"),
                                         ("Qwen-Qwen3-0.6B.jinja", "reasoning")] {
            let item = try Self.corpusCase(template, conversation, generation: true)
            let expected = try #require({ if case .string(let s) = item.expected { s } else { nil } }())
            let context = directory.write("\(conversation).json", Array(item.context.utf8))
            let result = try CommandRunner.run("eah-convert", ["template", item.path, "--context", context])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(Array(result.stdout.utf8) == Array(expected.utf8), "\(template)")
            let piped = try CommandRunner.run(executable: "/bin/sh", ["-c", "exec \"$0\" template \"$1\" --context - < \"$2\"",
                                                                      CommandRunner.productsFolder + "/eah-convert", item.path, context])
            #expect(piped.status == 0, "\(piped.stderr)")
            #expect(Array(piped.stdout.utf8) == Array(expected.utf8), "\(template) from standard input")
        }
    }

    /// `tokenizer/tokenizer.gguf` with `tokenizer.chat_template` added.
    static func ggufWithTemplate(_ templatePath: String, in directory: TemporaryDirectory) throws -> String {
        let reader = try GGUFReader(path: Fixtures.path("tokenizer/tokenizer.gguf"))
        let template = try String(contentsOfFile: Fixtures.path(templatePath), encoding: .utf8)
        let path = directory.file("model.gguf")
        let writer = try GGUFWriter(path: path, overwrite: false,
                                    metadata: reader.metadata + [MetadataEntry(key: "tokenizer.chat_template", value: .string(template))], tensors: [])
        try writer.finish()
        return path
    }

    @Test("a model folder, a bundle or a GGUF: its own template or --template, given special tokens winning, ids as the reference tokenizers give")
    func modelSourcesWithIDs() throws {
        let directory = TemporaryDirectory()
        guard case .array(let cases)? = try Self.fixture("templates/corpus/command.json")["cases"] else { throw FixtureError.missing }
        #expect(cases.count == 3)
        for (index, item) in cases.enumerated() {
            guard case .string(let model)? = item["model"], let context = item["context"] else { throw FixtureError.missing }
            let path = directory.write("context\(index).json", Array(context.serialized.utf8))
            var source = Fixtures.path(model)
            if case .string(let template)? = item["gguf_chat_template"] { source = try Self.ggufWithTemplate(template, in: directory) }
            var arguments = ["template", source, "--context", path, "--json"]
            if case .string(let template)? = item["template"] { arguments += ["--template", Fixtures.path(template)] }
            let result = try CommandRunner.run("eah-convert", arguments)
            #expect(result.status == 0, "\(result.stderr)")
            let document = try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
            #expect(document == .object([("schema", .integer(1)), ("text", try #require(item["text"])), ("ids", try #require(item["ids"]))]), "\(model)")
        }

        // A bundle made from the e2e model renders with the template and tokenizer it carries.
        let own = try #require(cases.first { $0["model"] == .string("e2e/tiny-llava-hf") && $0["template"] == .null })
        let bundle = directory.file("bundle")
        let patched = try CommandRunner.run("eah-convert", ["patch", Fixtures.path("e2e/tiny-llava-hf"), "-o", bundle, "--head", "0:0", "--beta", "0.05"])
        #expect(patched.status == 0, "\(patched.stderr)")
        let context = directory.write("bundle-context.json", Array(try #require(own["context"]).serialized.utf8))
        let result = try CommandRunner.run("eah-convert", ["template", bundle, "--context", context, "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try JSONParser.parse(result.stdout.trimmingCharacters(in: .newlines))
                == .object([("schema", .integer(1)), ("text", try #require(own["text"])), ("ids", try #require(own["ids"]))]))
    }

    @Test("raise_exception is bad input with the template's message on one line")
    func raisedException() throws {
        let directory = TemporaryDirectory()
        let item = try Self.corpusCase("google-gemma-2-2b-it.jinja", "system_user", generation: true)
        #expect(item.expected["type"] == .string("TemplateError"))
        let context = directory.write("context.json", Array(item.context.utf8))
        let result = try CommandRunner.run("eah-convert", ["template", item.path, "--context", context])
        #expect(result.status == 1)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr == "eah-convert: \(item.path): the chat template raised an exception: System role not supported; the conversation does not fit what the template accepts; change the messages or pass --template NAME\n")

        let multiline = directory.write("raise.jinja", Array("{{ raise_exception('two\\nlines \\x1b[31m') }}".utf8))
        let empty = directory.write("empty.json", Array("{}".utf8))
        let escaped = try CommandRunner.run("eah-convert", ["template", multiline, "--context", empty])
        #expect(escaped.status == 1)
        #expect(escaped.stderr == "eah-convert: \(multiline): the chat template raised an exception: two\\u{a}lines \\u{1b}[31m; the conversation does not fit what the template accepts; change the messages or pass --template NAME\n")
    }

    @Test("bad contexts and bad usage are refused with the fix")
    func badContextAndUsage() throws {
        let directory = TemporaryDirectory()
        let template = Fixtures.path("templates/corpus/Qwen-Qwen2.5-7B-Instruct.jinja")
        let array = directory.write("array.json", Array("[{\"role\": \"user\"}]".utf8))
        let notObject = try CommandRunner.run("eah-convert", ["template", template, "--context", array])
        #expect(notObject.status == 1)
        #expect(notObject.stderr == "eah-convert: \(array): the template context is an array, not a JSON object of template variables; write an object such as {\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"add_generation_prompt\": true}\n")

        let truncated = directory.write("truncated.json", Array("{\"messages\": [".utf8))
        let malformed = try CommandRunner.run("eah-convert", ["template", template, "--context", truncated])
        #expect(malformed.status == 1)
        #expect(malformed.stderr.hasPrefix("eah-convert: \(truncated): "))

        let context = directory.write("context.json", Array("{\"messages\": []}".utf8))
        let missing = try CommandRunner.run("eah-convert", ["template", directory.file("none.jinja"), "--context", context])
        #expect(missing.status == 1)
        #expect(missing.stderr == "eah-convert: \(directory.file("none.jinja")): no such file or directory; check the path\n")

        let both = try CommandRunner.run("eah-convert", ["template", template, "--context", context, "--template", "plain"])
        #expect(both.status == 2)
        #expect(both.stderr == "eah-convert: plain: --template picks a model's template, but the source is a .jinja template already; drop --template, or give the model as the source\n")

        let noContext = try CommandRunner.run("eah-convert", ["template", template])
        #expect(noContext.status == 2)
    }

    @Test("eah-run --verbose-prompt shows transformers' prompt and ids with the image run folded")
    func verbosePrompt() throws {
        let expected = try Self.fixture("e2e/expected.json")
        guard case .array(let cases)? = expected["cases"], let first = cases.first,
              case .string(let image)? = first["image"], case .string(let question)? = first["question"],
              case .string(let prompt)? = first["prompt"], case .array(let ids)? = first["input_ids"] else { throw FixtureError.missing }
        var shown: [String] = []
        var run = 0
        for case .integer(let id) in ids {
            if id == 1500 { run += 1; continue }  // image_token_index of the tiny model
            if run > 0 { shown.append("<image × \(run)>"); run = 0 }
            shown.append(String(id))
        }
        if run > 0 { shown.append("<image × \(run)>") }
        let result = try CommandRunner.run("eah-run", [Fixtures.path("e2e/tiny-llava-hf"), "--image", Fixtures.path("e2e/" + image),
                                                      "--prompt", question, "--max-tokens", "1", "--verbose-prompt"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "eah-run: prompt (\(ids.count) tokens):\n\(prompt)\neah-run: prompt ids: \(shown.joined(separator: " "))\n")
    }

    @Test("eah-run --verbose-prompt with --input-ids shows the ids, the -200 marker expanded to the image run")
    func verboseRawPrompt() throws {
        let ids = try #require(LlavaFixtures.integers("m1-gqa-bias/expected.safetensors", "input_ids"))
        let imageCount = ids.filter { $0 == 300 }.count  // image_token_index of the m1 model
        let first = try #require(ids.firstIndex(of: 300))
        var marked = ids.filter { $0 != 300 }
        marked.insert(-200, at: first)
        let shown = ids[..<first].map(String.init) + ["<image × \(imageCount)>"] + ids[(first + imageCount)...].map(String.init)
        let result = try CommandRunner.run("eah-run", [
            LlavaFixtures.path("m1-gqa-bias/hf-current"), "--input-ids", marked.map(String.init).joined(separator: ","),
            "--pixel-values", LlavaFixtures.path("m1-gqa-bias/expected.safetensors"), "--max-tokens", "0", "--verbose-prompt",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr == "eah-run: prompt (\(ids.count) tokens)\neah-run: prompt ids: \(shown.joined(separator: " "))\n")
    }
}
