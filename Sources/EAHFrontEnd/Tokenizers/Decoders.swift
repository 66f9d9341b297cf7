/// `Replace` decoder with a literal pattern (LLaMA: ▁ → space).
public struct ReplaceDecoder: TokenDecoder {
    public let pattern: [Unicode.Scalar]
    public let content: [Unicode.Scalar]

    public init(pattern: String, content: String) {
        self.pattern = Array(pattern.unicodeScalars)
        self.content = Array(content.unicodeScalars)
    }

    public func decode(_ tokens: [String]) -> [String] {
        tokens.map { ScalarText.string(ScalarText.replacing(pattern, with: content, in: Array($0.unicodeScalars))) }
    }
}

/// `ByteFallback`: runs of `<0xXX>` tokens become their bytes' text, or one U+FFFD per byte
/// when the run is not valid UTF-8.
public struct ByteFallbackDecoder: TokenDecoder {
    public init() {}

    public func decode(_ tokens: [String]) -> [String] {
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
    }

    public func isPartial(_ token: String) -> Bool { Self.byte(of: token) != nil }

    /// The byte of a `<0xXX>` token, parsed as Rust's `u8::from_str_radix` does (a leading `+` is allowed).
    static func byte(of token: String) -> UInt8? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 6, token.hasPrefix("<0x"), utf8[5] == UInt8(ascii: ">") else { return nil }
        var digits = String(decoding: utf8[3..<5], as: UTF8.self)
        if digits.hasPrefix("+") { digits.removeFirst() }
        guard !digits.isEmpty, !digits.hasPrefix("-"), !digits.hasPrefix("+") else { return nil }
        return UInt8(digits, radix: 16)
    }
}

/// `Fuse`: all tokens joined into one.
public struct FuseDecoder: TokenDecoder {
    public init() {}

    public func decode(_ tokens: [String]) -> [String] { [tokens.joined()] }
}

/// `Strip`: up to `start` leading and `stop` trailing `content` characters removed from each token.
public struct StripDecoder: TokenDecoder {
    public let content: Unicode.Scalar
    public let start: Int
    public let stop: Int

    public func decode(_ tokens: [String]) -> [String] {
        tokens.map { token in
            var scalars = Array(token.unicodeScalars)[...]
            var removed = 0
            while removed < start, scalars.first == content { scalars = scalars.dropFirst(); removed += 1 }
            removed = 0
            while removed < stop, scalars.last == content { scalars = scalars.dropLast(); removed += 1 }
            return ScalarText.string(scalars)
        }
    }
}

/// `Metaspace` decoding: ▁ → space, except that the first token's ▁s are dropped when
/// `stripFirst` (as `tokenizers` does: all of them, not only a leading one).
public struct MetaspaceDecoder: TokenDecoder {
    public let replacement: Unicode.Scalar
    public let stripFirst: Bool

    public func decode(_ tokens: [String]) -> [String] {
        tokens.enumerated().map { index, token in
            let dropsReplacement = index == 0 && stripFirst
            return ScalarText.string(token.unicodeScalars.compactMap { scalar -> Unicode.Scalar? in
                scalar == replacement ? (dropsReplacement ? nil : " ") : scalar
            })
        }
    }
}

/// `ByteLevel` decoding: each token's byte-level characters back to bytes (a token holding a
/// character outside the alphabet keeps its own UTF-8), all joined, then read as UTF-8 with
/// U+FFFD for each maximal invalid sequence (Rust's `from_utf8_lossy`).
public struct ByteLevelDecoder: TokenDecoder {
    public init() {}

    public func decode(_ tokens: [String]) -> [String] {
        var bytes: [UInt8] = []
        for token in tokens { Self.appendBytes(of: token, to: &bytes) }
        return [String(decoding: bytes, as: UTF8.self)]
    }

    public func isPartial(_ token: String) -> Bool {
        var bytes: [UInt8] = []
        Self.appendBytes(of: token, to: &bytes)
        return String(validating: bytes, as: UTF8.self) == nil
    }

    static func appendBytes(of token: String, to bytes: inout [UInt8]) {
        let start = bytes.count
        for scalar in token.unicodeScalars {
            guard let byte = ByteLevelAlphabet.byte(of: scalar) else {
                bytes.removeSubrange(start...)
                bytes.append(contentsOf: token.utf8)
                return
            }
            bytes.append(byte)
        }
    }
}
