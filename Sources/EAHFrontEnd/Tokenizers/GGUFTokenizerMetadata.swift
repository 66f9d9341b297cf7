import EAHCheckpoint

/// Reads the SentencePiece vocabulary llama.cpp's converter stores in a GGUF's
/// `tokenizer.ggml.*` metadata (`tokenizer.ggml.model` = `"llama"`).
///
/// The tokenizer built from it encodes and decodes like sentencepiece on the original
/// `tokenizer.model`: token types give the piece kinds (1 normal, 2 unknown, 3 control,
/// 4 user-defined, 5 unused, 6 byte), byte fallback is on when byte pieces exist, and
/// `add_space_prefix` (default true) is the dummy prefix. Unlike llama.cpp, no extra ▁ is added
/// after a user-defined piece inside the text (sentencepiece adds none).
public enum GGUFTokenizerMetadata {
    /// The tokenizer of the GGUF file at `path`.
    public static func load(path: String) throws(CheckpointError) -> SentencePieceTokenizer {
        let reader = try GGUFReader(path: path)
        do {
            return SentencePieceTokenizer(vocabulary: try vocabulary(metadata: reader.metadata))
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }

    /// The vocabulary described by `metadata` (a GGUF's entries, in any order).
    public static func vocabulary(metadata: [MetadataEntry]) throws(TokenizerProblem) -> TokenizerVocabulary {
        var values: [String: MetadataValue] = [:]
        for entry in metadata where entry.key.hasPrefix("tokenizer.ggml.") { values[entry.key] = entry.value }
        guard let model = values["tokenizer.ggml.model"] else { throw .missingTokenizerMetadata(key: "tokenizer.ggml.model") }
        guard let modelName = model.string else { throw .malformedMetadata(key: "tokenizer.ggml.model", reason: "is not a string") }
        guard modelName == "llama" else { throw .unsupportedGGUFTokenizer(modelName) }
        guard let tokenValue = values["tokenizer.ggml.tokens"] else { throw .missingTokenizerMetadata(key: "tokenizer.ggml.tokens") }
        guard case .array(_, let tokenItems) = tokenValue else {
            throw .malformedMetadata(key: "tokenizer.ggml.tokens", reason: "is not an array")
        }
        var pieces: [String] = []
        pieces.reserveCapacity(tokenItems.count)
        for item in tokenItems {
            guard let text = item.string else { throw .malformedMetadata(key: "tokenizer.ggml.tokens", reason: "holds a non-string element") }
            pieces.append(text)
        }
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
        var kinds = [TokenPieceKind](repeating: .normal, count: count)
        if let typeValue = values["tokenizer.ggml.token_type"] {
            guard case .array(_, let items) = typeValue, items.count == count else {
                throw .malformedMetadata(key: "tokenizer.ggml.token_type", reason: "is not an array of \(count) integers")
            }
            for (index, item) in items.enumerated() {
                guard let code = item.integer, let kind = TokenPieceKind(rawValue: code) else {
                    throw .malformedMetadata(key: "tokenizer.ggml.token_type", reason: "holds \(item), not a type code 1–6")
                }
                kinds[index] = kind
            }
        }
        func integer(_ key: String) throws(TokenizerProblem) -> Int? {
            guard let value = values[key] else { return nil }
            guard let number = value.integer else { throw .malformedMetadata(key: key, reason: "is not an integer") }
            return number
        }
        func bool(_ key: String, default defaultValue: Bool) throws(TokenizerProblem) -> Bool {
            guard let value = values[key] else { return defaultValue }
            guard case .bool(let flag) = value else { throw .malformedMetadata(key: key, reason: "is not a bool") }
            return flag
        }
        let unknownID = try integer("tokenizer.ggml.unknown_token_id") ?? kinds.firstIndex(of: .unknown) ?? 0
        return try TokenizerVocabulary(
            pieces: pieces, scores: scores, kinds: kinds, unknownID: unknownID,
            bosID: try integer("tokenizer.ggml.bos_token_id") ?? 1,
            eosID: try integer("tokenizer.ggml.eos_token_id") ?? 2,
            addsBOS: try bool("tokenizer.ggml.add_bos_token", default: true),
            byteFallback: kinds.contains(.byte),
            addDummyPrefix: try bool("tokenizer.ggml.add_space_prefix", default: true),
            removeExtraWhitespaces: try bool("tokenizer.ggml.remove_extra_whitespaces", default: false))
    }
}
