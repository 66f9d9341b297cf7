/// One step of a `tokenizer.json` decoder; LLaMA's is Replace "▁" → " ", ByteFallback, Fuse,
/// Strip(" ", 1, 0).
public enum TokenDecoderStep: Sendable, Equatable {
    case replace(pattern: String, content: String)
    /// Runs of `<0xXX>` tokens become their bytes' text, or one U+FFFD per byte when not UTF-8.
    case byteFallback
    /// Join all tokens into one.
    case fuse
    /// Remove up to `start` leading and `stop` trailing `content` characters from each token.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    /// Metaspace decoding: ▁ → space, except that the first token's ▁s are dropped when
    /// `stripFirst` (as `tokenizers` does: all of them, not only a leading one).
    case metaspace(replacement: Unicode.Scalar, stripFirst: Bool)

    /// The tokens after this step.
    func apply(_ tokens: [String]) -> [String] {
        switch self {
        case .replace(let pattern, let content):
            let from = Array(pattern.unicodeScalars), to = Array(content.unicodeScalars)
            return tokens.map { Self.string(ScalarText.replacing(from, with: to, in: Array($0.unicodeScalars))) }
        case .byteFallback:
            var output: [String] = []
            var bytes: [UInt8] = []
            func flush() {
                guard !bytes.isEmpty else { return }
                if let text = String(validating: bytes, as: UTF8.self) {
                    output.append(text)
                } else {
                    output.append(contentsOf: repeatElement("\u{FFFD}", count: bytes.count))
                }
                bytes.removeAll()
            }
            for token in tokens {
                if let byte = Self.byte(of: token) {
                    bytes.append(byte)
                } else {
                    flush()
                    output.append(token)
                }
            }
            flush()
            return output
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Array(token.unicodeScalars)[...]
                var removed = 0
                while removed < start, scalars.first == content { scalars = scalars.dropFirst(); removed += 1 }
                removed = 0
                while removed < stop, scalars.last == content { scalars = scalars.dropLast(); removed += 1 }
                return Self.string(scalars)
            }
        case .metaspace(let replacement, let stripFirst):
            return tokens.enumerated().map { index, token in
                let dropsReplacement = index == 0 && stripFirst
                return Self.string(token.unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
                    scalar == replacement ? (dropsReplacement ? nil : " ") : scalar
                })
            }
        }
    }

    /// The byte of a `<0xXX>` token, parsed as Rust's `u8::from_str_radix` does (a leading `+` is allowed).
    static func byte(of token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">") else { return nil }
        var digits = String(decoding: utf8[3..<5], as: UTF8.self)
        if digits.hasPrefix("+") { digits.removeFirst() }
        guard !digits.isEmpty, !digits.hasPrefix("-"), !digits.hasPrefix("+") else { return nil }
        return UInt8(digits, radix: 16)
    }

    static func string<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }
}
