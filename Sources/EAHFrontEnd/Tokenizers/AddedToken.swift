/// A `tokenizer.json` added token (e.g. llava-hf's `<image>`): matched whole in the text before
/// the model runs, as the `tokenizers` library does.
public struct AddedToken: Sendable, Equatable {
    public let id: Int
    public let content: String
    /// Special tokens are dropped by `decode(_:skipSpecialTokens: true)`.
    public let special: Bool
    /// Whether the match also swallows the whitespace before (`lstrip`) or after (`rstrip`) it.
    public let lstrip: Bool
    public let rstrip: Bool
    /// Matched in the normalized text instead of the raw text.
    public let normalized: Bool
    /// Matched only when not inside a word.
    public let singleWord: Bool

    public init(id: Int, content: String, special: Bool, lstrip: Bool = false, rstrip: Bool = false,
                normalized: Bool = false, singleWord: Bool = false) {
        self.id = id
        self.content = content
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized
        self.singleWord = singleWord
    }
}
