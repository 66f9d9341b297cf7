import EAHCheckpoint

/// Reads the vocabulary llama.cpp's converter stores in a GGUF's `tokenizer.ggml.*` metadata and
/// builds the tokenizer llama.cpp would: `tokenizer.ggml.model` = `llama` (SentencePiece) gives a
/// `SentencePieceTokenizer` in llama.cpp mode, `gpt2` (byte-level BPE) a `LlamaCppBPETokenizer`
/// with the pre-tokenizer `tokenizer.ggml.pre` names.
///
/// Token types give the piece kinds (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
/// 6 byte), byte fallback is on when byte pieces exist, and `add_space_prefix` (default true) is
/// the dummy prefix.
public enum GGUFTokenizerMetadata {
    /// The tokenizer of the GGUF file at `path`.
    public static func load(path: String) throws(CheckpointError) -> any Tokenizer {
        let reader = try GGUFReader(path: path)
        do {
            return try tokenizer(metadata: reader.metadata)
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The tokenizer described by `metadata`.
    public static func tokenizer(metadata: [MetadataEntry]) throws(TokenizerProblem) -> any Tokenizer {
        let values = tokenizerValues(metadata)
        guard let model = values["tokenizer.ggml.model"] else { throw .missingTokenizerMetadata(key: "tokenizer.ggml.model") }
        guard model.string == "gpt2" else {
            let addsEOS = try bool(values, "tokenizer.ggml.add_eos_token", default: false)
            return SentencePieceTokenizer(llamaCppVocabulary: try vocabulary(metadata: metadata), addsEOS: addsEOS)
        }
        let tokens = try strings(values, "tokenizer.ggml.tokens")
        let kinds = try kinds(values, count: tokens.count)
        var merges: [(String, String)] = []
        for line in try strings(values, "tokenizer.ggml.merges") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .invalidMerge(line) }
            merges.append((String(parts[0]), String(parts[1])))
        }
        guard let pre = values["tokenizer.ggml.pre"]?.string ?? Optional("default") else {
            throw .malformedMetadata(key: "tokenizer.ggml.pre", reason: "is not a string")
        }
        let bosID = try integer(values, "tokenizer.ggml.bos_token_id")
        let eosID = try integer(values, "tokenizer.ggml.eos_token_id")
        for (which, id) in [("bos", bosID), ("eos", eosID)] {
            if let id, !tokens.indices.contains(id) { throw .invalidSpecialID(which: which, id: id, vocabularySize: tokens.count) }
        }
        let addsBOS: Bool? = values["tokenizer.ggml.add_bos_token"] == nil ? nil : try bool(values, "tokenizer.ggml.add_bos_token", default: false)
        return try LlamaCppBPETokenizer(
            tokens: tokens, kinds: kinds, merges: merges, preType: pre, bosID: bosID, eosID: eosID, addsBOS: addsBOS,
            addsEOS: try bool(values, "tokenizer.ggml.add_eos_token", default: false))
    }

    /// The SentencePiece vocabulary described by `metadata` (a GGUF's entries, in any order).
    public static func vocabulary(metadata: [MetadataEntry]) throws(TokenizerProblem) -> TokenizerVocabulary {
        let values = tokenizerValues(metadata)
        guard let model = values["tokenizer.ggml.model"] else { throw .missingTokenizerMetadata(key: "tokenizer.ggml.model") }
        guard let modelName = model.string else { throw .malformedMetadata(key: "tokenizer.ggml.model", reason: "is not a string") }
        guard modelName == "llama" else { throw .unsupportedGGUFTokenizer(modelName) }
        let pieces = try strings(values, "tokenizer.ggml.tokens")
        let count = pieces.count
        var scores = [Float](repeating: 0, count: count)
        if let scoreValue = values["tokenizer.ggml.scores"] {
            guard case .array(_, let items) = scoreValue, items.count == count else {
                throw .malformedMetadata(key: "tokenizer.ggml.scores", reason: "is not an array of \(count) numbers")
            }
            for (index, item) in items.enumerated() {
                switch item {
                case .float32(let value): scores[index] = value
                case .float64(let value): scores[index] = Float(value)
                default: throw .malformedMetadata(key: "tokenizer.ggml.scores", reason: "holds a non-float element")
                }
            }
        }
        let kinds = try kinds(values, count: count)
        let unknownID = try integer(values, "tokenizer.ggml.unknown_token_id") ?? kinds.firstIndex(of: .unknown) ?? 0
        return try TokenizerVocabulary(
            pieces: pieces, scores: scores, kinds: kinds, unknownID: unknownID,
            bosID: try integer(values, "tokenizer.ggml.bos_token_id") ?? 1,
            eosID: try integer(values, "tokenizer.ggml.eos_token_id") ?? 2,
            addsBOS: try bool(values, "tokenizer.ggml.add_bos_token", default: true),
            byteFallback: kinds.contains(.byte),
            addDummyPrefix: try bool(values, "tokenizer.ggml.add_space_prefix", default: true),
            removeExtraWhitespaces: try bool(values, "tokenizer.ggml.remove_extra_whitespaces", default: false))
    }

    // MARK: Metadata values

    private static func tokenizerValues(_ metadata: [MetadataEntry]) -> [String: MetadataValue] {
        var values: [String: MetadataValue] = [:]
        for entry in metadata where entry.key.hasPrefix("tokenizer.ggml.") { values[entry.key] = entry.value }
        return values
    }

    private static func strings(_ values: [String: MetadataValue], _ key: String) throws(TokenizerProblem) -> [String] {
        guard let value = values[key] else { throw .missingTokenizerMetadata(key: key) }
        guard case .array(_, let items) = value else { throw .malformedMetadata(key: key, reason: "is not an array") }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard let text = item.string else { throw .malformedMetadata(key: key, reason: "holds a non-string element") }
            strings.append(text)
        }
        return strings
    }

    private static func kinds(_ values: [String: MetadataValue], count: Int) throws(TokenizerProblem) -> [TokenPieceKind] {
        var kinds = [TokenPieceKind](repeating: .normal, count: count)
        guard let typeValue = values["tokenizer.ggml.token_type"] else { return kinds }
        guard case .array(_, let items) = typeValue, items.count == count else {
            throw .malformedMetadata(key: "tokenizer.ggml.token_type", reason: "is not an array of \(count) integers")
        }
        for (index, item) in items.enumerated() {
            guard let code = item.integer, let kind = TokenPieceKind(rawValue: code) else {
                throw .malformedMetadata(key: "tokenizer.ggml.token_type", reason: "holds \(item), not a type code 1–6")
            }
            kinds[index] = kind
        }
        return kinds
    }

    private static func integer(_ values: [String: MetadataValue], _ key: String) throws(TokenizerProblem) -> Int? {
        guard let value = values[key] else { return nil }
        guard let number = value.integer else { throw .malformedMetadata(key: key, reason: "is not an integer") }
        return number
    }

    private static func bool(_ values: [String: MetadataValue], _ key: String, default defaultValue: Bool) throws(TokenizerProblem) -> Bool {
        guard let value = values[key] else { return defaultValue }
        guard case .bool(let flag) = value else { throw .malformedMetadata(key: key, reason: "is not a bool") }
        return flag
    }
}
