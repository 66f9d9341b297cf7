/// Turns generated ids into text as they arrive. Text is emitted up to the last id whose text
/// is final (`Tokenizer.isBytePiece`): byte-fallback pieces decode as a group (an invalid group
/// becomes U+FFFD per byte, as the reference decoders do) and byte-level tokens may end inside a
/// character, so their text is only final once a complete token follows.
public struct TextStream {
    private let tokenizer: any Tokenizer
    private var ids: [Int] = []
    private var emitted = ""

    public init(tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text `token` makes final (often empty while byte pieces accumulate).
    public mutating func append(_ token: Int) -> String {
        ids.append(token)
        guard let stable = ids.lastIndex(where: { !tokenizer.isBytePiece($0) }) else { return "" }
        return emit(upTo: stable + 1)
    }

    /// The rest of the text, once generation has ended.
    public mutating func finish() -> String {
        emit(upTo: ids.count)
    }

    private mutating func emit(upTo count: Int) -> String {
        // Compared by bytes, not characters: a new piece may extend the last character (a
        // combining mark, the \n of \r\n, an emoji's zero-width joiner).
        guard let text = try? tokenizer.decode(Array(ids[..<count])), text.utf8.starts(with: emitted.utf8) else { return "" }
        let added = String(decoding: text.utf8.dropFirst(emitted.utf8.count), as: UTF8.self)
        emitted = text
        return added
    }
}
