import EAHCheckpoint
import EAHCore

/// Reads a byte-level BPE tokenizer shipped as `vocab.json` + `merges.txt` + `tokenizer_config.json`
/// without a `tokenizer.json` (InternVL2.5/3 `InternVLChatModel` folders, older Qwen2 and GPT-2
/// repositories), the way transformers builds it from those files: the pipeline of the
/// `tokenizer_class` the config names, and the added tokens of its `added_tokens_decoder` with
/// their flags. The result is the `tokenizer.json` transformers would write, composed by
/// `TokenizerJSONFile`.
public enum VocabMergesFile {
    /// The files, by name, in the model folder.
    public static let vocabulary = "vocab.json"
    public static let merges = "merges.txt"
    public static let config = "tokenizer_config.json"

    /// The pipelines transformers gives each class (`Qwen2Tokenizer`, `GPT2Tokenizer` and their
    /// fast twins build the same `tokenizers` pipeline).
    enum Pipeline {
        /// NFC; Split by Qwen2's regex (isolated); ByteLevel without its own regex.
        case qwen2
        /// ByteLevel with GPT-2's regex.
        case gpt2

        static let byClass: [String: Pipeline] = [
            "Qwen2Tokenizer": .qwen2, "Qwen2TokenizerFast": .qwen2, "GPT2Tokenizer": .gpt2, "GPT2TokenizerFast": .gpt2,
        ]

        func components(addPrefixSpace: Bool) -> [(String, JSONValue)] {
            let byteLevel = { (useRegex: Bool) in
                JSONValue.object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(addPrefixSpace)), ("use_regex", .bool(useRegex))])
            }
            switch self {
            case .qwen2:
                let split = JSONValue.object([("type", .string("Split")), ("pattern", .object([("Regex", .string(KnownSplitPatterns.qwen2))])),
                                              ("behavior", .string("Isolated")), ("invert", .bool(false))])
                return [("normalizer", .object([("type", .string("NFC"))])),
                        ("pre_tokenizer", .object([("type", .string("Sequence")), ("pretokenizers", .array([split, byteLevel(false)]))]))]
            case .gpt2:
                return [("normalizer", .null), ("pre_tokenizer", byteLevel(true))]
            }
        }
    }

    /// The classes eah builds, for messages.
    static var classNames: String { Pipeline.byClass.keys.sorted().joined(separator: ", ") }

    /// Whether `folder` holds `vocab.json` and `merges.txt`.
    public static func isPresent(in folder: String) -> Bool {
        access(folder + "/" + vocabulary, F_OK) == 0 && access(folder + "/" + merges, F_OK) == 0
    }

    /// The tokenizer of the files in `folder`; errors name the file at fault.
    public static func load(folder: String) throws(CheckpointError) -> HuggingFaceTokenizer {
        let configPath = folder + "/" + config, vocabularyPath = folder + "/" + vocabulary, mergesPath = folder + "/" + merges
        let settings = try json(configPath)
        func fail(_ problem: TokenizerProblem, _ path: String = configPath) -> CheckpointError { CheckpointError(path: path, problem: problem) }

        let className = settings["tokenizer_class"]?.stringValue
        guard let className, let pipeline = Pipeline.byClass[className] else { throw fail(.unsupportedTokenizerClass(className)) }
        for key in ["add_bos_token", "add_eos_token"] where settings[key] == .bool(true) {
            throw fail(.unsupportedComponent("\(key): true with \(className)"))
        }
        let addPrefixSpace = settings["add_prefix_space"] == .bool(true)

        let vocab = try json(vocabularyPath)
        guard case .object(let entries) = vocab else { throw fail(.malformedJSON(path: "(the top level)"), vocabularyPath) }
        for (text, value) in entries {
            guard case .integer(let id) = value, id >= 0, id < 1 << 31 else { throw fail(.malformedJSON(path: text), vocabularyPath) }
        }
        let mergeLines = try mergeList(mergesPath)

        var added: [(Int, JSONValue)] = []
        if let decoder = settings["added_tokens_decoder"], decoder != .null {
            guard case .object(let members) = decoder else { throw fail(.malformedJSON(path: "added_tokens_decoder")) }
            for (key, token) in members {
                let field = "added_tokens_decoder." + key
                guard let id = Int(key), id >= 0, id < 1 << 31, let content = token["content"]?.stringValue else {
                    throw fail(.malformedJSON(path: field))
                }
                func flag(_ name: String, default value: Bool) throws(CheckpointError) -> Bool {
                    switch token[name] {
                    case nil, .null?: return value
                    case .bool(let set)?: return set
                    default: throw fail(.malformedJSON(path: field + "." + name))
                    }
                }
                let special = try flag("special", default: false)
                added.append((id, .object([
                    ("id", .integer(id)), ("content", .string(content)), ("special", .bool(special)),
                    ("lstrip", .bool(try flag("lstrip", default: false))), ("rstrip", .bool(try flag("rstrip", default: false))),
                    // tokenizers' AddedToken default: special tokens are matched in the raw text.
                    ("normalized", .bool(try flag("normalized", default: !special))),
                    ("single_word", .bool(try flag("single_word", default: false))),
                ])))
            }
        }
        let document = JSONValue.object(pipeline.components(addPrefixSpace: addPrefixSpace) + [
            ("added_tokens", .array(added.sorted { $0.0 < $1.0 }.map(\.1))),
            ("decoder", .object([("type", .string("ByteLevel"))])),
            ("post_processor", .null),
            ("model", .object([("type", .string("BPE")), ("vocab", vocab), ("merges", .array(mergeLines.map(JSONValue.string)))])),
        ])
        do {
            return try TokenizerJSONFile.tokenizer(document: document)
        } catch {
            // Past the checks above, a merge of unknown tokens or ids too sparse for a table.
            let culprit = switch error { case .invalidMerge: mergesPath; case .malformedJSON: vocabularyPath; default: configPath }
            throw CheckpointError(path: culprit, problem: error)
        }
    }

    /// The merges of `merges.txt`, one `left right` pair a line; the `#version` header and
    /// empty lines are skipped, as transformers does.
    static func mergeList(_ path: String) throws(CheckpointError) -> [String] {
        let file = try MappedFile(path: path)
        if let offset = JSONParser.firstInvalidUTF8(file.bytes) {
            let line = file.bytes[..<offset].reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
            throw CheckpointError(path: path, problem: TokenizerProblem.malformedMerges(line: line))
        }
        let text = withExtendedLifetime(file) { String(decoding: file.bytes, as: UTF8.self) }
        var merges: [String] = []
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.hasSuffix("\r") ? raw.dropLast() : raw
            if line.isEmpty || (index == 0 && line.hasPrefix("#version")) { continue }
            let parts = line.split(separator: " ")
            guard parts.count == 2 else { throw CheckpointError(path: path, problem: TokenizerProblem.malformedMerges(line: index + 1)) }
            merges.append(parts.joined(separator: " "))
        }
        return merges
    }

    static func json(_ path: String) throws(CheckpointError) -> JSONValue {
        let file = try MappedFile(path: path)
        do {
            return try JSONParser.parse(file.bytes)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }
}
