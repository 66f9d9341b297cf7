/// The stages a `tokenizer.json` tokenizer is composed of, as the `tokenizers` library composes
/// them: normalizer → pre-tokenizer → model → decoder. Each stage is a protocol; the factory in
/// `TokenizerJSONFile` builds them from their JSON `type`, so a new component is a new conforming
/// type plus one registry entry.

/// A span of text on its way through the pipeline (the `tokenizers` library's split).
public struct PreTokenizedWord: Sendable, Equatable {
    public var scalars: [Unicode.Scalar]
    /// Whether the word begins at offset 0 of the input (Metaspace's `first` prepend scheme).
    public var atStart: Bool

    public init(_ scalars: [Unicode.Scalar], atStart: Bool) {
        self.scalars = scalars
        self.atStart = atStart
    }
}

/// Rewrites text before pre-tokenization (and added tokens marked `normalized`).
public protocol TextNormalizer: Sendable {
    func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar]
}

/// Cuts a word into smaller words (and may rewrite them, as ByteLevel and Metaspace do).
public protocol PreTokenizer: Sendable {
    /// Appends the pieces of `word`, in order, to `words`; empty pieces are left out.
    func split(_ word: PreTokenizedWord, into words: inout [PreTokenizedWord])
}

/// Turns one pre-tokenized word into token ids.
public protocol TokenizerModel: Sendable {
    /// The token texts by id (nil for ids the model does not define).
    var tokenTexts: [String?] { get }
    /// The id of a token text, or nil.
    func id(of token: String) -> Int?
    /// Appends the ids of `word` to `ids`.
    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int])
}

/// Turns the token texts of a sequence back into text (`decode_chain`).
public protocol TokenDecoder: Sendable {
    func decode(_ tokens: [String]) -> [String]
    /// Whether the text of `token` depends on the tokens after it (a byte of a character split
    /// over several tokens), so a streaming decoder must hold it back.
    func isPartial(_ token: String) -> Bool
}

extension TokenDecoder {
    public func isPartial(_ token: String) -> Bool { false }
}

/// Normalizers applied in order.
public struct NormalizerSequence: TextNormalizer {
    public let steps: [any TextNormalizer]

    public func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        steps.reduce(text) { $1.normalize($0) }
    }
}

/// Pre-tokenizers applied in order, each to every word the previous one produced.
public struct PreTokenizerSequence: PreTokenizer {
    public let steps: [any PreTokenizer]

    public func split(_ word: PreTokenizedWord, into words: inout [PreTokenizedWord]) {
        var current = [word]
        for step in steps {
            var next: [PreTokenizedWord] = []
            next.reserveCapacity(current.count)
            for piece in current { step.split(piece, into: &next) }
            current = next
        }
        words.append(contentsOf: current)
    }
}

/// Decoders applied in order.
public struct DecoderSequence: TokenDecoder {
    public let steps: [any TokenDecoder]

    public func decode(_ tokens: [String]) -> [String] {
        steps.reduce(tokens) { $1.decode($0) }
    }

    public func isPartial(_ token: String) -> Bool {
        steps.contains { $0.isPartial(token) }
    }
}
