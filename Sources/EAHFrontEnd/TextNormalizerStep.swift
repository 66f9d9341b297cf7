/// One step of a `tokenizer.json` normalizer (LLaMA's legacy form is Prepend "▁" then
/// Replace " " → "▁").
public enum TextNormalizerStep: Sendable, Equatable {
    /// Prepend the text to non-empty input.
    case prepend(String)
    /// Replace every occurrence of a literal pattern.
    case replace(pattern: String, content: String)

    /// `text` after this step.
    func apply(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        switch self {
        case .prepend(let prefix):
            return text.isEmpty ? text : Array(prefix.unicodeScalars) + text
        case .replace(let pattern, let content):
            return ScalarText.replacing(Array(pattern.unicodeScalars), with: Array(content.unicodeScalars), in: text)
        }
    }
}
