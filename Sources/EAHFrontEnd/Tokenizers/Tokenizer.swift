/// Text ↔ token ids.
///
/// `SentencePieceTokenizer` (from `tokenizer.model`) and `HuggingFaceTokenizer` (from
/// `tokenizer.json`) reproduce the `sentencepiece` and `tokenizers` libraries exactly; a GGUF's
/// vocabulary (`SentencePieceTokenizer` in llama.cpp mode, `LlamaCppBPETokenizer`) reproduces
/// llama.cpp. Load any of them with `TokenizerFile.load(path:)`.
public protocol Tokenizer: Sendable {
    /// The number of ids `decode` accepts.
    var vocabularySize: Int { get }
    var bosID: Int? { get }
    var eosID: Int? { get }
    /// The ids of `text`. With `addBOS` (the default) the tokenizer adds what its configuration
    /// says to add (BOS for LLaMA); without it, nothing (eah-run's `--no-bos`).
    func encode(_ text: String, addBOS: Bool) -> [Int]
    /// The text of `ids`, as the reference library decodes it; throws `idOutOfRange` for ids
    /// outside the vocabulary.
    func decode(_ ids: [Int]) throws(TokenizerProblem) -> String
    /// Whether `id`'s text depends on the ids after it (a byte-fallback piece `<0xXX>`, or a
    /// byte-level token ending inside a character), so streamed text holds it back until an id
    /// with final text follows.
    func isBytePiece(_ id: Int) -> Bool
}

extension Tokenizer {
    /// The ids of `text` with BOS as configured.
    public func encode(_ text: String) -> [Int] { encode(text, addBOS: true) }
}
