import EAHCheckpoint

/// The `tokenizer.ggml.*` and `tokenizer.chat_template` metadata llama.cpp's convert_hf_to_gguf
/// writes for a Hugging Face model folder with a SentencePiece `tokenizer.model`
/// (`_set_vocab_sentencepiece` and gguf-py's `SpecialVocab`, as vendored by llama-cpp-python
/// 0.3.36), in the same order.
///
/// Tokens: the model's pieces padded to `vocab_size` with `[PADn]` (score -10000, unused);
/// `added_tokens.json` entries user-defined at -1000; `tokenizer_config.json`'s
/// `added_tokens_decoder` control (special, or looking special) or user-defined at -1000. Types:
/// SentencePiece's unknown, control, unused and byte kinds kept, every other piece normal.
/// Special ids: `tokenizer_config.json`'s `<type>_token` found among tokenizer.json's added
/// tokens, then `config.json`'s `<type>_token_id` (top level, else `text_config`). Add-BOS/SEP/EOS:
/// tokenizer.json's post-processor (TemplateProcessing, ByteLevel), then tokenizer_config's
/// `add_<type>_token`. The chat template: tokenizer_config's, else chat_template.jinja, else
/// chat_template.json's.
public enum LlamaCppTokenizerExport {
    /// gguf-py's `SpecialVocab` token types in its order, with their GGUF key names.
    static let specialTypes: [(type: String, key: String)] = [
        ("bos", "bos_token_id"), ("eos", "eos_token_id"), ("unk", "unknown_token_id"), ("sep", "seperator_token_id"),
        ("pad", "padding_token_id"), ("cls", "cls_token_id"), ("mask", "mask_token_id"),
    ]

    /// The metadata for the model folder `folder` whose text model has `vocabSize` rows.
    public static func metadata(folder: String, vocabSize: Int) throws(CheckpointError) -> [MetadataEntry] {
        let modelPath = folder + "/tokenizer.model"
        guard let file = try? MappedFile(path: modelPath) else {
            throw CheckpointError(path: folder, problem: ConversionProblem.notLlamaCppLayout(
                "the tokenizer has no tokenizer.model (this exporter writes SentencePiece vocabularies only; llama.cpp's convert_hf_to_gguf.py converts the others)"))
        }
        let vocabulary: TokenizerVocabulary
        do throws(TokenizerProblem) {
            vocabulary = try SentencePieceModelFile.vocabulary(serialized: file.bytes)
        } catch {
            throw CheckpointError(path: modelPath, problem: error)
        }
        var tokens = (0..<vocabSize).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: vocabSize)
        var types = [Int32](repeating: Int32(TokenPieceKind.unused.rawValue), count: vocabSize)
        for id in 0..<min(vocabulary.count, vocabSize) {
            tokens[id] = vocabulary.pieces[id]
            scores[id] = vocabulary.scores[id]
            switch vocabulary.kinds[id] {
            case .unknown, .control, .unused, .byte: types[id] = Int32(vocabulary.kinds[id].rawValue)
            default: types[id] = Int32(TokenPieceKind.normal.rawValue)
            }
        }
        if case .object(let added)? = try json(folder + "/added_tokens.json") {
            for (content, value) in added {
                guard case .integer(let id) = value, (0..<vocabSize).contains(id) else { continue }
                tokens[id] = content
                scores[id] = -1000
                types[id] = Int32(TokenPieceKind.userDefined.rawValue)
            }
        }
        let tokenizerConfig = try json(folder + "/tokenizer_config.json")
        if case .object(let decoder)? = tokenizerConfig?["added_tokens_decoder"] {
            for (key, entry) in decoder {
                guard let id = Int(key), (0..<vocabSize).contains(id), case .string(let content)? = entry["content"] else { continue }
                if entry["special"] == .bool(true) || looksSpecial(content) {
                    types[id] = Int32(TokenPieceKind.control.rawValue)
                    tokens[id] = content
                } else {
                    types[id] = Int32(TokenPieceKind.userDefined.rawValue)
                    tokens[id] = content.split(separator: "\u{2581}", omittingEmptySubsequences: false).joined(separator: " ")
                }
                scores[id] = -1000
            }
        }

        var entries: [MetadataEntry] = [
            .init(key: "tokenizer.ggml.model", value: .string("llama")),
            .init(key: "tokenizer.ggml.pre", value: .string("default")),
            .init(key: "tokenizer.ggml.tokens", value: .array(element: .string, tokens.map { .string($0) })),
            .init(key: "tokenizer.ggml.scores", value: .array(element: .float32, scores.map { .float32($0) })),
            .init(key: "tokenizer.ggml.token_type", value: .array(element: .int32, types.map { .int32($0) })),
        ]
        entries += try specialEntries(folder: folder, tokenizerConfig: tokenizerConfig, vocabSize: vocabSize)
        return entries
    }

    /// convert_hf_to_gguf's `does_token_look_special`.
    static func looksSpecial(_ text: String) -> Bool {
        ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].contains(text)
            || text.hasPrefix("<|") && text.hasSuffix("|>")
            || text.hasPrefix("<\u{FF5C}") && text.hasSuffix("\u{FF5C}>")
            || text.hasPrefix("<unused") && text.hasSuffix(">")
    }

    /// SpecialVocab: special ids, add-token flags and the chat template.
    static func specialEntries(folder: String, tokenizerConfig: JSONValue?, vocabSize: Int) throws(CheckpointError) -> [MetadataEntry] {
        let tokenizer = try json(folder + "/tokenizer.json")
        var ids: [(String, Int)] = []
        var flags: [(String, Bool)] = []
        func setID(_ type: String, _ id: Int?) {
            guard let id, id >= 0, id < vocabSize, !ids.contains(where: { $0.0 == type }) else { return }
            ids.append((type, id))
        }
        func setFlag(_ type: String, _ value: Bool, overwrite: Bool) {
            if let index = flags.firstIndex(where: { $0.0 == type }) {
                if overwrite { flags[index].1 = value }
            } else {
                flags.append((type, value))
            }
        }
        func configToken(_ type: String) -> String? {
            switch tokenizerConfig?["\(type)_token"] {
            case .string(let text)?: text
            case .object?: tokenizerConfig?["\(type)_token"]?["content"].flatMap { if case .string(let text) = $0 { text } else { nil } }
            default: nil
            }
        }
        if let tokenizer {
            let bos = configToken("bos") ?? configToken("cls"), eos = configToken("eos") ?? configToken("sep")
            let sep = configToken("sep")
            var processors: [JSONValue] = []
            if let post = tokenizer["post_processor"], post != .null {
                if case .array(let list)? = post["processors"] { processors = list } else { processors = [post] }
            }
            for processor in processors {
                switch processor["type"] {
                case .string("ByteLevel")?:
                    setFlag("bos", false, overwrite: false)
                    setFlag("eos", false, overwrite: false)
                case .string("TemplateProcessing")?:
                    func specialID(_ item: JSONValue?) -> String? {
                        if case .string(let id)? = item?["SpecialToken"]?["id"] { return id }
                        return nil
                    }
                    guard case .array(let single)? = processor["single"] else { continue }
                    var first: String?, last: String?
                    if single.count > 1 {
                        first = specialID(single.first)
                        if let first { setFlag("bos", first == bos || first == configToken("cls"), overwrite: true) }
                        last = specialID(single.last)
                        if let last { setFlag("eos", last == eos, overwrite: true) }
                    }
                    if case .array(var pair)? = processor["pair"], !pair.isEmpty {
                        if let first, specialID(pair.first) == first { pair.removeFirst() }
                        if let last, specialID(pair.last) == last { pair.removeLast() }
                        if pair.count >= 2, case .string("A")? = pair.first?["Sequence"]?["id"], case .string("B")? = pair.last?["Sequence"]?["id"] {
                            let middle = Array(pair.dropFirst().dropLast())
                            if !middle.isEmpty {
                                var addSep = false
                                if let entry = specialID(middle[0]), entry == sep || entry == eos, last == nil { addSep = true }
                                if middle.count == 2, let entry = specialID(middle[1]), entry == sep || entry == eos { addSep = true }
                                setFlag("sep", addSep, overwrite: true)
                            }
                        }
                    }
                default: continue
                }
            }
        }
        if let tokenizerConfig {
            var addedTokens: [(String, Int)] = []
            if case .array(let added)? = tokenizer?["added_tokens"] {
                for token in added {
                    if case .string(let content)? = token["content"], case .integer(let id)? = token["id"] { addedTokens.append((content, id)) }
                }
            }
            for (type, _) in specialTypes {
                if case .bool(let add)? = tokenizerConfig["add_\(type)_token"] { setFlag(type, add, overwrite: false) }
                guard let content = configToken(type) else { continue }
                setID(type, addedTokens.first { $0.0 == content }?.1)
            }
        }
        let config = try json(folder + "/config.json")
        for (type, _) in specialTypes {
            var value = config?["\(type)_token_id"]
            if value == nil || value == .null { value = config?["text_config"]?["\(type)_token_id"] }
            if case .integer(let id)? = value { setID(type, id) }
        }

        var entries: [MetadataEntry] = []
        for (type, id) in ids {
            guard let key = specialTypes.first(where: { $0.type == type })?.key else { continue }
            entries.append(.init(key: "tokenizer.ggml.\(key)", value: .uint32(UInt32(id))))
        }
        for (type, add) in flags { entries.append(.init(key: "tokenizer.ggml.add_\(type)_token", value: .bool(add))) }
        if let tokenizerConfig, let template = try chatTemplate(folder: folder, tokenizerConfig: tokenizerConfig) {
            entries.append(.init(key: "tokenizer.chat_template", value: .string(template)))
        }
        return entries
    }

    static func chatTemplate(folder: String, tokenizerConfig: JSONValue) throws(CheckpointError) -> String? {
        if case .string(let template)? = tokenizerConfig["chat_template"] { return template }
        let jinja = folder + "/chat_template.jinja"
        if let file = try? MappedFile(path: jinja) { return String(decoding: file.bytes, as: UTF8.self) }
        if case .string(let template)? = try json(folder + "/chat_template.json")?["chat_template"] { return template }
        return nil
    }

    /// The JSON file at `path`, nil when absent.
    static func json(_ path: String) throws(CheckpointError) -> JSONValue? {
        guard let file = try? MappedFile(path: path) else { return nil }
        do throws(JSONProblem) {
            return try JSONParser.parse(file.bytes)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }
}
