/// `Prepend`: puts a text before non-empty input (LLaMA's legacy normalizer prepends ▁).
public struct PrependNormalizer: TextNormalizer {
    public let prefix: [Unicode.Scalar]

    public init(_ prefix: String) { self.prefix = Array(prefix.unicodeScalars) }

    public func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        text.isEmpty ? text : prefix + text
    }
}

/// `Replace` with a literal pattern: every non-overlapping occurrence, left to right.
public struct ReplaceNormalizer: TextNormalizer {
    public let pattern: [Unicode.Scalar]
    public let content: [Unicode.Scalar]

    public init(pattern: String, content: String) {
        self.pattern = Array(pattern.unicodeScalars)
        self.content = Array(content.unicodeScalars)
    }

    public func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        ScalarText.replacing(pattern, with: content, in: text)
    }
}

/// `NFC`: Unicode canonical composition (GPT-2/Qwen2-style tokenizers).
public struct NFCNormalizer: TextNormalizer {
    public init() {}

    public func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        // Text below U+0300 has no combining marks and is already NFC.
        guard text.contains(where: { $0.value >= 0x300 }) else { return text }
        var string = ""
        string.unicodeScalars.append(contentsOf: text)
        return Array(String(decoding: string._nfcCodeUnits, as: UTF8.self).unicodeScalars)
    }
}
