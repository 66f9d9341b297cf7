import EAHCheckpoint

/// Reads a Hugging Face `tokenizer.json` and composes its tokenizer from the component
/// registries in `TokenizerJSONComponents` (a new normalizer, pre-tokenizer, decoder or
/// post-processor is one conforming type and one entry there). A component eah does not have
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

        var size = 0
        for id in vocabulary.values { size = max(size, id + 1) }
        for token in addedTokens { size = max(size, token.id + 1) }
        // Ids index a table; refuse absurdly sparse ones instead of allocating gigabytes.
        guard size <= max(1 << 24, 4 * (vocabulary.count + addedTokens.count)) else { throw .malformedJSON(path: "model.vocab") }
        let bpe = try BPEModel(
            vocabulary: vocabulary, merges: merges, unknownToken: model["unk_token"]?.stringValue,
            fuseUnknown: model["fuse_unk"] == .bool(true), byteFallback: model["byte_fallback"] == .bool(true),
            ignoreMerges: model["ignore_merges"] == .bool(true), size: size)
        let components = TokenizerJSONComponents.self
        let (prefix, suffix) = try components.postProcessor(document["post_processor"], path: "post_processor")
        return HuggingFaceTokenizer(
            model: bpe, addedTokens: addedTokens,
            normalizer: try components.optional(document["normalizer"], path: "normalizer", components.normalizer),
            preTokenizer: try components.optional(document["pre_tokenizer"], path: "pre_tokenizer", components.preTokenizer),
            decoder: try components.optional(document["decoder"], path: "decoder", components.decoder),
            prefixIDs: prefix, suffixIDs: suffix)
    }
}

extension JSONValue {
    /// The string of a `.string` value.
    var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }
}
