/// The type of a vocabulary piece; raw values are SentencePiece's `ModelProto.SentencePiece.Type`
/// and GGUF's `tokenizer.ggml.token_type` codes.
public enum TokenPieceKind: Int, Sendable, Equatable {
    /// Produced by BPE merges.
    case normal = 1
    /// The unknown piece (`<unk>`).
    case unknown = 2
    /// Never produced from text and decoded to nothing (`<s>`, `</s>`).
    case control = 3
    /// Matched whole in the text before BPE and never merged.
    case userDefined = 4
    /// In the vocabulary but re-split into the pieces it was merged from.
    case unused = 5
    /// A `<0xXX>` byte-fallback piece.
    case byte = 6
}
