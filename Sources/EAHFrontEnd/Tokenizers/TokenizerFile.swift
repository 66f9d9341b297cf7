import EAHCheckpoint

/// Opens any tokenizer eah reads: a GGUF (by its `GGUF` magic), a `tokenizer.json` (by its
/// `.json` extension) or else a SentencePiece `tokenizer.model`.
public enum TokenizerFile {
    /// The tokenizer in the file at `path`; errors name the file.
    public static func load(path: String) throws(CheckpointError) -> any Tokenizer {
        if path.hasSuffix(".json") { return try TokenizerJSONFile.load(path: path) }
        let file = try MappedFile(path: path)
        if file.count >= 4, Array(file.bytes[0..<4]) == Array("GGUF".utf8) {
            return try GGUFTokenizerMetadata.load(path: path)
        }
        do {
            return SentencePieceTokenizer(vocabulary: try SentencePieceModelFile.vocabulary(serialized: file.bytes))
        } catch {
            throw CheckpointError(path: path, problem: error)
        }
    }
}
