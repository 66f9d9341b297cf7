/// The `tokenizers` Metaspace pre-tokenizer (what transformers 5 writes for LLaMA): spaces become
/// the replacement (▁), a ▁ is prepended per `prependScheme` unless the text already starts
/// with one, and with `split` the text is cut before every ▁.
public struct MetaspacePreTokenizer: Sendable, Equatable {
    public enum PrependScheme: String, Sendable {
        /// Prepend to every piece of text (between added tokens too).
        case always
        /// Prepend only to the text at the start of the input.
        case first
        case never
    }

    public let replacement: Unicode.Scalar
    public let prependScheme: PrependScheme
    public let split: Bool

    public init(replacement: Unicode.Scalar = "\u{2581}", prependScheme: PrependScheme = .always, split: Bool = true) {
        self.replacement = replacement
        self.prependScheme = prependScheme
        self.split = split
    }

    /// The words of `text`; `atStart` says whether it begins at offset 0 of the input.
    func words(_ text: [Unicode.Scalar], atStart: Bool) -> [[Unicode.Scalar]] {
        guard !text.isEmpty else { return [] }
        var replaced = text.map { $0 == " " ? replacement : $0 }
        let prepend = switch prependScheme {
        case .always: true
        case .first: atStart
        case .never: false
        }
        if prepend, replaced.first != replacement { replaced.insert(replacement, at: 0) }
        guard split else { return [replaced] }
        var words: [[Unicode.Scalar]] = []
        var current: [Unicode.Scalar] = []
        for scalar in replaced {
            if scalar == replacement, !current.isEmpty {
                words.append(current)
                current = []
            }
            current.append(scalar)
        }
        if !current.isEmpty { words.append(current) }
        return words
    }
}
