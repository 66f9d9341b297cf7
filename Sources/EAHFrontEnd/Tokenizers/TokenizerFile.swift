import EAHCheckpoint
import EAHCore

/// Opens any tokenizer eah reads: a GGUF (by its `GGUF` magic; `llama` and `gpt2` vocabularies,
/// tokenized as llama.cpp does), a `tokenizer.json` (by its `.json` extension), a `vocab.json`
/// (with the `merges.txt` and `tokenizer_config.json` beside it) or else a SentencePiece
/// `tokenizer.model`.
public enum TokenizerFile {
    /// The tokenizer in the file at `path`; errors name the file.
    public static func load(path: String) throws(CheckpointError) -> any Tokenizer {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if name == VocabMergesFile.vocabulary {
            return try VocabMergesFile.load(folder: path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : ".")
        }
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

    /// The file holding a model folder's tokenizer, as `load(path:)` takes it: `tokenizer.json`,
    /// else `tokenizer.model`, else `vocab.json` when `merges.txt` is beside it; nil when none is.
    public static func path(inFolder folder: String) -> String? {
        for name in ["tokenizer.json", "tokenizer.model"] where access(folder + "/" + name, F_OK) == 0 {
            return folder + "/" + name
        }
        return VocabMergesFile.isPresent(in: folder) ? folder + "/" + VocabMergesFile.vocabulary : nil
    }

    /// What `path(inFolder:)` looks for, for messages.
    public static let folderFiles = "tokenizer.json, tokenizer.model or vocab.json with merges.txt"
}
