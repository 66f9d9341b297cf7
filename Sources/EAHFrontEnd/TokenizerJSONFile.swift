import EAHCheckpoint

/// Reads a Hugging Face `tokenizer.json` with a BPE model, as LLaMA and llava-hf ship it.
///
/// Supported components: normalizer `Sequence`/`Prepend`/`Replace` (literal patterns),
/// pre-tokenizer `Metaspace` (alone or in a `Sequence`), post-processor `TemplateProcessing`,
/// decoder `Sequence`/`Replace`/`ByteFallback`/`Fuse`/`Strip`/`Metaspace`. Anything else
/// throws `unsupportedComponent` naming it.
public enum TokenizerJSONFile {
    /// The tokenizer of the `tokenizer.json` at `path`.
    public static func load(path: String) throws(CheckpointError) -> HuggingFaceTokenizer {
        let file = try MappedFile(path: path)
        let document: JSONValue
        do {
            document = try JSONParser.parse(file.bytes)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
        do {
            return try tokenizer(document: document)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The tokenizer described by a parsed `tokenizer.json`.
    public static func tokenizer(document: JSONValue) throws(TokenizerProblem) -> HuggingFaceTokenizer {
        guard let model = document["model"], model != .null else { throw .missingModel }
        if let type = model["type"], type != .string("BPE") {
            throw .unsupportedComponent("model type \(type.serialized)")
        }
        guard case .object(let vocabMembers) = model["vocab"] else { throw .malformedJSON(path: "model.vocab") }
        var vocabulary: [String: Int] = [:]
        vocabulary.reserveCapacity(vocabMembers.count)
        for (text, value) in vocabMembers {
            guard case .integer(let id) = value, id >= 0, id < 1 << 31 else { throw .malformedJSON(path: "model.vocab.\(text)") }
            vocabulary[text] = id
        }
        var merges: [(String, String)] = []
        if let mergeList = model["merges"], mergeList != .null {
            guard case .array(let items) = mergeList else { throw .malformedJSON(path: "model.merges") }
            merges.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                switch item {
                case .string(let line):
                    let parts = line.split(separator: " ", omittingEmptySubsequences: false)
                    guard parts.count == 2 else { throw .invalidMerge(line) }
                    merges.append((String(parts[0]), String(parts[1])))
                case .array(let pair):
                    guard pair.count == 2, case .string(let left) = pair[0], case .string(let right) = pair[1] else {
                        throw .malformedJSON(path: "model.merges[\(index)]")
                    }
                    merges.append((left, right))
                default:
                    throw .malformedJSON(path: "model.merges[\(index)]")
                }
            }
        }
        if let dropout = model["dropout"], dropout != .null, dropout != .integer(0), dropout != .number(0) {
            throw .unsupportedComponent("BPE dropout")
        }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key], value != .null, value != .string("") { throw .unsupportedComponent("BPE \(key)") }
        }

        var addedTokens: [AddedToken] = []
        if let list = document["added_tokens"], list != .null {
            guard case .array(let items) = list else { throw .malformedJSON(path: "added_tokens") }
            for (index, item) in items.enumerated() {
                guard case .integer(let id) = item["id"], id >= 0, id < 1 << 31, case .string(let content) = item["content"] else {
                    throw .malformedJSON(path: "added_tokens[\(index)]")
                }
                func flag(_ key: String) -> Bool { item[key] == .bool(true) }
                addedTokens.append(AddedToken(id: id, content: content, special: flag("special"), lstrip: flag("lstrip"),
                                              rstrip: flag("rstrip"), normalized: flag("normalized"), singleWord: flag("single_word")))
            }
        }

        let normalizer = try normalizerSteps(document["normalizer"], path: "normalizer")
        let preTokenizer = try metaspace(document["pre_tokenizer"], path: "pre_tokenizer")
        let decoder = try decoderSteps(document["decoder"], path: "decoder")
        let (prefix, suffix) = try template(document["post_processor"])
        return try HuggingFaceTokenizer(
            vocabulary: vocabulary, merges: merges, unknownToken: model["unk_token"]?.stringValue,
            fuseUnknown: model["fuse_unk"] == .bool(true), byteFallback: model["byte_fallback"] == .bool(true),
            ignoreMerges: model["ignore_merges"] == .bool(true), addedTokens: addedTokens, normalizer: normalizer,
            preTokenizer: preTokenizer, decoder: decoder, prefixIDs: prefix, suffixIDs: suffix)
    }

    private static func type(_ value: JSONValue, path: String) throws(TokenizerProblem) -> String {
        guard case .string(let type) = value["type"] else { throw .malformedJSON(path: path + ".type") }
        return type
    }

    private static func normalizerSteps(_ value: JSONValue?, path: String) throws(TokenizerProblem) -> [TextNormalizerStep] {
        guard let value, value != .null else { return [] }
        switch try type(value, path: path) {
        case "Sequence":
            guard case .array(let items) = value["normalizers"] else { throw .malformedJSON(path: path + ".normalizers") }
            var steps: [TextNormalizerStep] = []
            for (index, item) in items.enumerated() { steps += try normalizerSteps(item, path: path + ".normalizers[\(index)]") }
            return steps
        case "Prepend":
            guard let prefix = value["prepend"]?.stringValue else { throw .malformedJSON(path: path + ".prepend") }
            return [.prepend(prefix)]
        case "Replace":
            let (pattern, content) = try replacement(value, path: path)
            return [.replace(pattern: pattern, content: content)]
        case let other:
            throw .unsupportedComponent("normalizer \(other)")
        }
    }

    private static func replacement(_ value: JSONValue, path: String) throws(TokenizerProblem) -> (String, String) {
        guard let pattern = value["pattern"] else { throw .malformedJSON(path: path + ".pattern") }
        if pattern["Regex"] != nil { throw .unsupportedComponent("a Regex pattern in \(path)") }
        guard let literal = pattern["String"]?.stringValue else { throw .malformedJSON(path: path + ".pattern.String") }
        guard let content = value["content"]?.stringValue else { throw .malformedJSON(path: path + ".content") }
        return (literal, content)
    }

    private static func metaspace(_ value: JSONValue?, path: String) throws(TokenizerProblem) -> MetaspacePreTokenizer? {
        guard let value, value != .null else { return nil }
        switch try type(value, path: path) {
        case "Sequence":
            guard case .array(let items) = value["pretokenizers"] else { throw .malformedJSON(path: path + ".pretokenizers") }
            guard items.count <= 1 else { throw .unsupportedComponent("a pre-tokenizer Sequence of \(items.count) steps") }
            return try items.first.flatMap { item throws(TokenizerProblem) in try metaspace(item, path: path + ".pretokenizers[0]") }
        case "Metaspace":
            let replacementText = value["replacement"]?.stringValue ?? "\u{2581}"
            guard replacementText.unicodeScalars.count == 1, let replacement = replacementText.unicodeScalars.first else {
                throw .malformedJSON(path: path + ".replacement")
            }
            let scheme: MetaspacePreTokenizer.PrependScheme
            if let name = value["prepend_scheme"]?.stringValue {
                guard let parsed = MetaspacePreTokenizer.PrependScheme(rawValue: name) else {
                    throw .malformedJSON(path: path + ".prepend_scheme")
                }
                scheme = parsed
            } else {
                scheme = value["add_prefix_space"] == .bool(false) ? .never : .always
            }
            return MetaspacePreTokenizer(replacement: replacement, prependScheme: scheme, split: value["split"] != .bool(false))
        case let other:
            throw .unsupportedComponent("pre-tokenizer \(other)")
        }
    }

    private static func decoderSteps(_ value: JSONValue?, path: String) throws(TokenizerProblem) -> [TokenDecoderStep] {
        guard let value, value != .null else { return [] }
        switch try type(value, path: path) {
        case "Sequence":
            guard case .array(let items) = value["decoders"] else { throw .malformedJSON(path: path + ".decoders") }
            var steps: [TokenDecoderStep] = []
            for (index, item) in items.enumerated() { steps += try decoderSteps(item, path: path + ".decoders[\(index)]") }
            return steps
        case "Replace":
            let (pattern, content) = try replacement(value, path: path)
            return [.replace(pattern: pattern, content: content)]
        case "ByteFallback":
            return [.byteFallback]
        case "Fuse":
            return [.fuse]
        case "Strip":
            guard let text = value["content"]?.stringValue, text.unicodeScalars.count == 1, let content = text.unicodeScalars.first,
                  case .integer(let start) = value["start"], case .integer(let stop) = value["stop"], start >= 0, stop >= 0
            else { throw .malformedJSON(path: path) }
            return [.strip(content: content, start: start, stop: stop)]
        case "Metaspace":
            let replacement = value["replacement"]?.stringValue?.unicodeScalars.first ?? "\u{2581}"
            let scheme = value["prepend_scheme"]?.stringValue ?? (value["add_prefix_space"] == .bool(false) ? "never" : "always")
            return [.metaspace(replacement: replacement, stripFirst: scheme != "never")]
        case let other:
            throw .unsupportedComponent("decoder \(other)")
        }
    }

    /// The ids TemplateProcessing's `single` template puts before and after the sequence.
    private static func template(_ value: JSONValue?) throws(TokenizerProblem) -> ([Int], [Int]) {
        guard let value, value != .null else { return ([], []) }
        let kind = try type(value, path: "post_processor")
        guard kind == "TemplateProcessing" else { throw .unsupportedComponent("post-processor \(kind)") }
        guard case .array(let items) = value["single"] else { throw .malformedJSON(path: "post_processor.single") }
        var prefix: [Int] = []
        var suffix: [Int] = []
        var seenSequence = false
        for (index, item) in items.enumerated() {
            if item["Sequence"] != nil { seenSequence = true; continue }
            guard let name = item["SpecialToken"]?["id"]?.stringValue,
                  case .array(let idValues) = value["special_tokens"]?[name]?["ids"]
            else { throw .malformedJSON(path: "post_processor.single[\(index)]") }
            for idValue in idValues {
                guard case .integer(let id) = idValue, id >= 0 else { throw .malformedJSON(path: "post_processor.special_tokens.\(name)") }
                if seenSequence { suffix.append(id) } else { prefix.append(id) }
            }
        }
        return (prefix, suffix)
    }
}

extension JSONValue {
    /// The string of a `.string` value.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
