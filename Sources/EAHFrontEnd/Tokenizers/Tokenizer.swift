/// Text ↔ token ids for a LLaMA-family model.
///
/// `SentencePieceTokenizer` (from `tokenizer.model` or a GGUF) and `HuggingFaceTokenizer` (from
/// `tokenizer.json`) reproduce the `sentencepiece` and `tokenizers` libraries exactly. Load either
/// with `TokenizerFile.load(path:)`.
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
    /// Whether `id` is a byte-fallback piece (`<0xXX>`): its text depends on the byte pieces
    /// around it, so streamed text holds it back until a non-byte piece follows.
    func isBytePiece(_ id: Int) -> Bool
}

extension Tokenizer {
    /// The ids of `text` with BOS as configured.
    public func encode(_ text: String) -> [Int] { encode(text, addBOS: true) }
}
