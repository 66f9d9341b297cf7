/// Helpers on text held as Unicode scalars (what the `tokenizers` library calls chars).
enum ScalarText {
    /// `text` with every non-overlapping occurrence of `pattern`, left to right, replaced.
    static func replacing(_ pattern: [Unicode.Scalar], with content: [Unicode.Scalar], in text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard !pattern.isEmpty, text.count >= pattern.count else { return text }
        var output: [Unicode.Scalar] = []
        output.reserveCapacity(text.count)
        var index = 0
        while index < text.count {
            if text[index] == pattern[0], index + pattern.count <= text.count,
               text[index..<index + pattern.count].elementsEqual(pattern) {
                output.append(contentsOf: content)
                index += pattern.count
            } else {
                output.append(text[index])
                index += 1
            }
        }
        return output
    }

    /// The UTF-8 bytes of `scalars`.
    static func utf8<C: Collection>(_ scalars: C) -> [UInt8] where C.Element == Unicode.Scalar {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count)
        for scalar in scalars { if let code = UTF8.encode(scalar) { bytes.append(contentsOf: code) } }
        return bytes
    }

    /// A string of `scalars`.
    static func string<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var text = ""
        text.unicodeScalars.append(contentsOf: scalars)
        return text
    }
}
