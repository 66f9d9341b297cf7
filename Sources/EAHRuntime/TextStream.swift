import EAHFrontEnd

/// Turns generated ids into text as they arrive, without splitting a character whose bytes
/// come from several byte-fallback pieces.
public struct TextStream {
    private let tokenizer: any Tokenizer
    private var ids: [Int] = []
    private var emitted = ""

    public init(tokenizer: any Tokenizer) {
        self.tokenizer = tokenizer
    }

    /// The text `token` adds; empty while the decoded text ends in an unfinished character.
    public mutating func append(_ token: Int) -> String {
        ids.append(token)
        guard let text = try? tokenizer.decode(ids), !text.hasSuffix("\u{FFFD}"), text.hasPrefix(emitted) else { return "" }
        let added = String(text.dropFirst(emitted.count))
        emitted = text
        return added
    }

    /// Whatever is still held back (an unfinished character at the very end).
    public mutating func finish() -> String {
        guard let text = try? tokenizer.decode(ids), text.hasPrefix(emitted) else { return "" }
        let rest = String(text.dropFirst(emitted.count))
        emitted = text
        return rest
    }
}
