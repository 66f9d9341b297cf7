import Crypto
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
    /// A folder without `tokenizer.model` is written as a byte-level BPE vocabulary
    /// (`byteLevelMetadata`), as the converter's `set_vocab` falls back to `_set_vocab_gpt2`;
    /// `pre` then overrides the pre-tokenizer its hash would choose.
    public static func metadata(folder: String, vocabSize: Int, pre: String? = nil) throws(CheckpointError) -> [MetadataEntry] {
        let modelPath = folder + "/tokenizer.model"
        guard let file = try? MappedFile(path: modelPath) else {
            return try byteLevelMetadata(folder: folder, vocabSize: vocabSize, pre: pre)
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

    /// SpecialVocab: special ids, add-token flags and the chat template, as
    /// `_try_load_from_tokenizer_json` then `_try_load_from_config_json` find them (the
    /// post-processor's first/last special tokens stand in for missing BOS/CLS/EOS/SEP names).
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
        // tokenizer_config's `<type>_token` names (a string or {"content": …}), as SpecialVocab
        // reads them and fills them in.
        var names: [String: String] = [:]
        for (type, _) in specialTypes {
            switch tokenizerConfig?["\(type)_token"] {
            case .string(let text)?: names[type] = text
            case .object?: if case .string(let text)? = tokenizerConfig?["\(type)_token"]?["content"] { names[type] = text }
            default: break
            }
        }
        let hasConfig = tokenizerConfig.map { if case .object(let members) = $0 { !members.isEmpty } else { false } } ?? false
        if let tokenizer {
            if names["bos"] == nil, let cls = names["cls"], hasConfig { names["bos"] = cls }
            if names["eos"] == nil, let sep = names["sep"], hasConfig { names["eos"] = sep }
            var processors: [JSONValue] = []
            if let post = tokenizer["post_processor"], post != .null {
                if case .array(let list)? = post["processors"] { processors = list } else { processors = [post] }
            }
            func specialID(_ item: JSONValue?) -> String? {
                if case .string(let id)? = item?["SpecialToken"]?["id"], !id.isEmpty { return id }
                return nil
            }
            for processor in processors {
                switch processor["type"] {
                case .string("ByteLevel")?:
                    setFlag("bos", false, overwrite: false)
                    setFlag("eos", false, overwrite: false)
                case .string("RobertaProcessing")?:
                    setFlag("bos", true, overwrite: true)
                    setFlag("eos", true, overwrite: true)
                    setFlag("sep", true, overwrite: true)
                    func first(_ key: String) -> String? {
                        if case .array(let pair)? = processor[key], case .string(let text)? = pair.first { return text }
                        return nil
                    }
                    if names["cls"] == nil, hasConfig { names["cls"] = first("cls") ?? names["bos"] }
                    if names["sep"] == nil, hasConfig { names["sep"] = first("sep") ?? names["eos"] }
                case .string("TemplateProcessing")?:
                    guard case .array(let single)? = processor["single"] else { continue }
                    var first: String?, last: String?
                    if single.count > 1 {
                        first = specialID(single.first)
                        if let first {
                            if !hasConfig {
                                names["bos"] = first
                            } else if first != names["bos"], first != names["cls"] {
                                if names["bos"] == nil { names["bos"] = first }
                                if names["cls"] == nil { names["cls"] = first }
                            }
                            setFlag("bos", first == names["bos"] || first == names["cls"], overwrite: true)
                        }
                        last = specialID(single.last)
                        if let last {
                            if !hasConfig || last != names["eos"] { names["eos"] = last }
                            setFlag("eos", true, overwrite: true)
                        }
                    }
                    if case .array(var pair)? = processor["pair"], !pair.isEmpty {
                        if let first, specialID(pair.first) == first { pair.removeFirst() }
                        if let last, specialID(pair.last) == last, !pair.isEmpty { pair.removeLast() }
                        if pair.count >= 2, case .string("A")? = pair.first?["Sequence"]?["id"], case .string("B")? = pair.last?["Sequence"]?["id"] {
                            let middle = Array(pair.dropFirst().dropLast())
                            if !middle.isEmpty {
                                var addSep = false
                                let separators = [names["sep"], names["eos"]]
                                if let entry = specialID(middle[0]), separators.contains(entry), last == nil { addSep = true }
                                if middle.count == 2, let entry = specialID(middle[1]), separators.contains(entry) { addSep = true }
                                setFlag("sep", addSep, overwrite: true)
                                if addSep, names["sep"] == nil, hasConfig { names["sep"] = names["eos"] }
                            }
                        }
                    }
                default: continue
                }
            }
        }
        if let tokenizerConfig, hasConfig {
            var addedTokens: [(String, Int)] = []
            if case .array(let added)? = tokenizer?["added_tokens"] {
                for token in added {
                    if case .string(let content)? = token["content"], case .integer(let id)? = token["id"] { addedTokens.append((content, id)) }
                }
            }
            for (type, _) in specialTypes {
                if case .bool(let add)? = tokenizerConfig["add_\(type)_token"] { setFlag(type, add, overwrite: false) }
                guard let content = names[type] else { continue }
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
        if let tokenizerConfig, hasConfig, let template = try chatTemplate(folder: folder, tokenizerConfig: tokenizerConfig) {
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

// MARK: Byte-level BPE (`gpt2`)

extension LlamaCppTokenizerExport {
    /// What convert_hf_to_gguf's `_set_vocab_gpt2` writes for a folder with a byte-level BPE
    /// `tokenizer.json` (Qwen2, LLaMA 3, …), in its order: model `gpt2`, the pre-tokenizer named by
    /// the hash of the tokenizer's ids for `checkText` (`get_vocab_base_pre`; `pre` overrides it),
    /// tokens padded to `vocabSize` with `[PADn]` (unused), types (added tokens control when
    /// special or looking special, else user-defined with `▁` as spaces; the rest normal), merges
    /// (`a b`; a space inside a pair's part written as U+0120), then `SpecialVocab`'s special ids,
    /// add-token flags and chat template. No scores.
    public static func byteLevelMetadata(folder: String, vocabSize: Int, pre: String? = nil) throws(CheckpointError) -> [MetadataEntry] {
        let path = folder + "/tokenizer.json"
        func refuse(_ reason: String) -> CheckpointError { CheckpointError(path: path, problem: ConversionProblem.notLlamaCppLayout(reason)) }
        guard let document = try json(path) else {
            throw CheckpointError(path: folder, problem: ConversionProblem.notLlamaCppLayout(
                "the tokenizer has neither tokenizer.model (SentencePiece) nor tokenizer.json (byte-level BPE)"))
        }
        guard case .object(let vocab)? = document["model"]?["vocab"], document["model"]?["type"] == .string("BPE") else {
            throw refuse("tokenizer.json's model is not BPE with a vocab (llama.cpp's gpt2 vocabulary is byte-level BPE)")
        }
        guard isByteLevel(document) else {
            throw CheckpointError(path: folder, problem: ConversionProblem.notLlamaCppLayout(
                "the tokenizer has no tokenizer.model, and its tokenizer.json is not byte-level BPE (llama.cpp's gpt2 vocabulary): "
                + "put the SentencePiece tokenizer.model it was made from beside it"))
        }
        let tokenizer: HuggingFaceTokenizer
        do throws(TokenizerProblem) {
            tokenizer = try TokenizerJSONFile.tokenizer(document: document)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
        let name: String
        if let pre {
            name = pre
        } else {
            let hash = preTokenizerHash(tokenizer)
            guard let known = knownPreTokenizers[hash] else {
                throw refuse("llama.cpp does not know this tokenizer's pre-tokenizer: the hash of its ids for llama.cpp's check text is \(hash), "
                    + "which convert_hf_to_gguf.py's get_vocab_base_pre does not list (llama.cpp's converter refuses it too). "
                    + "If it splits text as a known one does (e.g. Qwen2's or LLaMA 3's expression), name that one with --tokenizer-pre (qwen2, llama-bpe, …)")
            }
            name = known
        }

        var tokens = (0..<vocabSize).map { "[PAD\($0)]" }
        var types = [Int32](repeating: Int32(TokenPieceKind.unused.rawValue), count: vocabSize)
        for (text, value) in vocab {
            guard case .integer(let id) = value, (0..<vocabSize).contains(id) else { continue }
            tokens[id] = text
            types[id] = Int32(TokenPieceKind.normal.rawValue)
        }
        if case .array(let added)? = document["added_tokens"] {
            for token in added {
                guard case .integer(let id)? = token["id"], (0..<vocabSize).contains(id), case .string(let content)? = token["content"] else { continue }
                if token["special"] == .bool(true) || looksSpecial(content) {
                    types[id] = Int32(TokenPieceKind.control.rawValue)
                    tokens[id] = content
                } else {
                    types[id] = Int32(TokenPieceKind.userDefined.rawValue)
                    tokens[id] = content.split(separator: "\u{2581}", omittingEmptySubsequences: false).joined(separator: " ")
                }
            }
        }
        var entries: [MetadataEntry] = [
            .init(key: "tokenizer.ggml.model", value: .string("gpt2")),
            .init(key: "tokenizer.ggml.pre", value: .string(name)),
            .init(key: "tokenizer.ggml.tokens", value: .array(element: .string, tokens.map { .string($0) })),
            .init(key: "tokenizer.ggml.token_type", value: .array(element: .int32, types.map { .int32($0) })),
        ]
        let merges = try self.merges(document: document, folder: folder, path: path)
        if !merges.isEmpty {
            entries.append(.init(key: "tokenizer.ggml.merges", value: .array(element: .string, merges.map { .string($0) })))
        }
        entries += try specialEntries(folder: folder, tokenizerConfig: try json(folder + "/tokenizer_config.json"), vocabSize: vocabSize)
        return entries
    }

    /// Whether tokenizer.json's pre-tokenizer or decoder is `ByteLevel` (alone or in a `Sequence`).
    static func isByteLevel(_ document: JSONValue) -> Bool {
        func has(_ component: JSONValue?, _ list: String) -> Bool {
            guard let component, component != .null else { return false }
            if component["type"] == .string("ByteLevel") { return true }
            if case .array(let items)? = component[list] { return items.contains { has($0, list) } }
            return false
        }
        return has(document["pre_tokenizer"], "pretokenizers") || has(document["decoder"], "decoders")
    }

    /// SHA-256 of the ids `tokenizer` gives `checkText` with its special tokens, printed as a
    /// Python list (`[1, 2]`): the converter's `chkhsh`.
    public static func preTokenizerHash(_ tokenizer: HuggingFaceTokenizer) -> String {
        let ids = tokenizer.encode(checkText, addBOS: true)
        let text = "[" + ids.map(String.init).joined(separator: ", ") + "]"
        return SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// `SpecialVocab`'s merges: tokenizer.json's (`"a b"` strings, or pairs joined with a space,
    /// spaces inside a part as U+0120), else merges.txt's lines of two fields (a `#` first line skipped).
    static func merges(document: JSONValue, folder: String, path: String) throws(CheckpointError) -> [String] {
        if case .array(let list)? = document["model"]?["merges"], !list.isEmpty {
            var merges: [String] = []
            merges.reserveCapacity(list.count)
            for item in list {
                if case .string(let merge) = item {
                    merges.append(merge)
                } else if case .array(let pair) = item, pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] {
                    let encode = { (part: String) in String(part.unicodeScalars.map { $0 == " " ? "\u{0120}" : Character($0) }) }
                    merges.append(encode(left) + " " + encode(right))
                } else {
                    throw CheckpointError(path: path, problem: TokenizerProblem.malformedJSON(path: "model.merges"))
                }
            }
            return merges
        }
        guard let file = try? MappedFile(path: folder + "/merges.txt") else { return [] }
        var lines = String(decoding: file.bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if let first = lines.first, first.trimmingWhitespace().hasPrefix("#") { lines.removeFirst() }
        return lines.compactMap { line in
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            return parts.count == 2 ? "\(parts[0]) \(parts[1])" : nil
        }
    }
}

private extension Substring {
    func trimmingWhitespace() -> Substring {
        drop { $0.isWhitespace }
    }
}
