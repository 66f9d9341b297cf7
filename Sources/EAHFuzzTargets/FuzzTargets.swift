import EAH
import EAHCheckpoint
import EAHFrontEnd
import EAHModel
import EAHRuntime
import EAHServerAPI
import EAHCore

/// One entry point per parser of untrusted input, for libFuzzer (`eah-fuzz`, `make fuzz`) and
/// for the tests that replay the committed crash inputs and seeds.
///
/// A target takes arbitrary bytes and must return (any error thrown is the expected outcome);
/// a crash, a sanitizer report, a hang or an allocation past libFuzzer's limits is a finding.
/// Parsers that read paths get the bytes through a file in a private temporary folder (on
/// tmpfs when `/dev/shm` exists).
public enum FuzzTargets {
    public struct Target: Sendable {
        public let name: String
        /// What the bytes are, for `eah-fuzz --list`.
        public let summary: String
        public let run: @Sendable (UnsafeRawBufferPointer) -> Void
    }

    public static let all: [Target] = [
        Target(name: "safetensors", summary: "a safetensors file: header, offsets, every tensor's bytes") { bytes in
            guard let reader = try? SafetensorsReader(path: InputFile.write(bytes, as: "model.safetensors")) else { return }
            touch(reader)
        },
        Target(name: "shard-index", summary: "a *.index.json with its shards missing or named oddly") { bytes in
            _ = try? Checkpoint.open(InputFile.write(bytes, as: "model.safetensors.index.json"))
        },
        Target(name: "gguf", summary: "a GGUF file: header, metadata, tensor infos, tensor bytes") { bytes in
            guard let reader = try? GGUFReader(path: InputFile.write(bytes, as: "model.gguf")) else { return }
            touch(reader)
            _ = CheckpointReport.text(reader, layout: ModelFamilies.layoutDescription(reader))
        },
        Target(name: "pickle", summary: "a pickle for the restricted machine (data.pkl)") { bytes in
            var machine = PickleMachine(bytes: bytes)
            while (try? machine.load()) != nil, machine.offset < bytes.count {}
        },
        Target(name: "pytorch", summary: "a PyTorch checkpoint, zip or legacy: archive, pickle, storages, views") { bytes in
            guard let reader = try? PyTorchReader(path: InputFile.write(bytes, as: "model.pt")) else { return }
            touch(reader)
        },
        Target(name: "zip", summary: "a zip archive: directory, local headers, stored and deflated entries") { bytes in
            guard let file = try? MappedFile(path: InputFile.write(bytes, as: "archive.zip")),
                  let archive = try? ZipArchive(file: file) else { return }
            for entry in archive.entries.prefix(64) { _ = try? archive.contents(of: entry).count }
        },
        Target(name: "manifest", summary: "a bundle's manifest.pb (protobuf)") { bytes in
            guard let manifest = try? EAHManifest(serialized: bytes) else { return }
            _ = manifest.text
            _ = manifest.json.serialized
        },
        Target(name: "tokenizer-model", summary: "a SentencePiece tokenizer.model (protobuf), then encode and decode") { bytes in
            guard let tokenizer = try? TokenizerFile.load(path: InputFile.write(bytes, as: "tokenizer.model")) else { return }
            exercise(tokenizer)
        },
        Target(name: "tokenizer-json", summary: "a Hugging Face tokenizer.json, then encode and decode") { bytes in
            guard let tokenizer = try? TokenizerFile.load(path: InputFile.write(bytes, as: "tokenizer.json")) else { return }
            exercise(tokenizer)
        },
        Target(name: "chat-template", summary: "a Jinja chat template, parsed and rendered with hostile contexts") { bytes in
            guard let template = try? ChatTemplate(source: String(decoding: bytes, as: UTF8.self)) else { return }
            var limits = ChatTemplate.Limits()
            limits.maxSteps = 200_000
            limits.maxOutputBytes = 1 << 20
            limits.maxItems = 1 << 14
            for context in hostileContexts { _ = try? template.render(context, limits: limits) }
        },
        Target(name: "image", summary: "a JPEG or PNG image, decoded to RGB") { bytes in
            _ = try? ImageDecoder(maximumPixelCount: 1 << 22).decode(bytes)
        },
        Target(name: "config", summary: "a config.json / preprocessor_config.json (every reader of it)") { bytes in
            guard let json = try? JSONParser.parse(bytes) else { return }
            _ = try? LlavaConfigReader.llavaHF(json)
            _ = try? LlavaConfigReader.original(json, visionTower: json)
            _ = try? PreprocessorConfig(json: json)
        },
        Target(name: "calibration-jsonl", summary: "a calibration JSONL of {\"image\", \"prompt\"} lines") { bytes in
            guard let data = try? CalibrationData(path: InputFile.write(bytes, as: "data.jsonl"), prompt: nil) else { return }
            _ = data.shard(0, of: 2)
        },
        Target(name: "json", summary: "JSON text (the parser behind every .json file)") { bytes in
            _ = try? JSONParser.parse(bytes).serialized
        },
        Target(name: "chat-request", summary: "a POST /v1/chat/completions body: messages, content parts, data-URL image, stop sequences") { bytes in
            guard let request = try? ChatCompletionRequest(body: Array(bytes)) else { return }
            // What the server does with it before the model runs: the data URL's image decoded
            // (file references are stat-ed and mapped by the server; not followed here), the
            // conversation rendered by the built-in templates and tokenized, and the stop
            // sequences applied to the text streamed back in token-sized pieces.
            if let image = request.image, case .data = image, let (data, _) = try? ImageLoader.bytes(of: image, maxBytes: 1 << 20) {
                _ = try? ImageDecoder(maximumPixelCount: 1 << 20).decode(data)
            }
            for template in chatRequestTemplates {
                guard let text = try? template.render(messages: request.messages) else { continue }
                if let tokenizer = chatRequestTokenizer { _ = tokenizer.encode(text, addBOS: true) }
            }
            var filter = StopSequenceFilter(request.stop)
            for message in request.messages {
                var rest = Substring(message.text)
                while !rest.isEmpty, !filter.stopped {
                    _ = filter.feed(String(rest.prefix(3)))
                    rest = rest.dropFirst(3)
                }
            }
            _ = filter.finish()
        },
    ]

    public static func named(_ name: String) -> Target? { all.first { $0.name == name } }

    /// Reads every tensor's bytes (a few MiB at most), as a conversion would.
    static func touch(_ reader: any CheckpointReader) {
        var budget = 64 << 20
        for tensor in reader.tensors {
            guard let bytes = try? reader.bytes(of: tensor) else { continue }
            budget -= bytes.count
            var sum: UInt8 = 0
            bytes.withUnsafeBytes { raw in for index in stride(from: 0, to: raw.count, by: 4096) { sum &+= raw[index] } }
            _ = sum
            if budget < 0 { break }
        }
    }

    static func exercise(_ tokenizer: any Tokenizer) {
        for text in ["Hello world", "<image>\nUSER: What is this? ASSISTANT:", "  \t\n\u{0}é漢字🙂<s></s>", String(repeating: "ab ", count: 64)] {
            let ids = tokenizer.encode(text, addBOS: true)
            _ = try? tokenizer.decode(ids)
        }
        _ = try? tokenizer.decode(Array(0..<min(tokenizer.vocabularySize, 512)))
    }

    static let chatRequestTemplates: [ConversationTemplate] = ConversationTemplate.builtInNames.compactMap { try? ConversationTemplate.builtIn($0) }

    /// The tokenizer fixture (a LLaMA SentencePiece vocabulary) when this source tree is at
    /// hand, as for `make fuzz` and the tests.
    static let chatRequestTokenizer: (any Tokenizer)? = {
        let sources = String(#filePath).split(separator: "/", omittingEmptySubsequences: false).dropLast(3).joined(separator: "/")
        return try? TokenizerFile.load(path: sources + "/Tests/Fixtures/tokenizer/tokenizer.model")
    }()

    static let hostileContexts: [[String: TemplateValue]] = {
        func message(_ role: String, _ content: TemplateValue) -> TemplateValue {
            .dictionary([(.string("role"), .string(role)), (.string("content"), content)])
        }
        let parts: TemplateValue = .list([.dictionary([(.string("type"), .string("image"))]), .dictionary([(.string("type"), .string("text")), (.string("text"), .string("{{ 7*7 }}\u{0}"))])])
        return [
            ["messages": .list([message("user", .string("Describe the image."))]), "add_generation_prompt": .bool(true),
             "bos_token": .string("<s>"), "eos_token": .string("</s>")],
            ["messages": .list([message("system", .string("")), message("user", parts), message("assistant", .string("x")), message("user", .none)])],
            ["messages": .list([.string("not a message"), .integer(-1), .list([]), .dictionary([])]), "add_generation_prompt": .string("yes")],
            ["messages": .none],
            [:],
        ]
    }()
}

/// The fuzz input as a file, for parsers that take paths: one private folder per process,
/// rewritten for every input.
enum InputFile {
    static let folder: String = {
        let base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : (getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp")
        var template = Array((base + "/eah-fuzz-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "cannot create a folder in \(base)")
        let path = String(cString: made!)
        atexit { _ = InputFile.removeAll() }
        return path
    }()

    static func write(_ bytes: UnsafeRawBufferPointer, as name: String) -> String {
        let path = folder + "/" + name
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        precondition(descriptor >= 0, "cannot write \(path)")
        var written = 0
        while written < bytes.count {
            let result = systemWrite(descriptor, bytes.baseAddress! + written, bytes.count - written)
            precondition(result > 0, "cannot write \(path)")
            written += result
        }
        close(descriptor)
        return path
    }

    static func removeAll() -> Bool {
        guard let directory = opendir(folder) else { return false }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { unlink(folder + "/" + name) }
        }
        closedir(directory)
        return rmdir(folder) == 0
    }
}
