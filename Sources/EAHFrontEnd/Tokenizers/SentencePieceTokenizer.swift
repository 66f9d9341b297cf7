/// LLaMA's SentencePiece BPE tokenizer, identical to the `sentencepiece` library's `encode` and
/// `decode` (and to llama.cpp's SPM tokenizer for the pieces sentencepiece produces).
///
/// Encoding: normalize (dummy ▁ prefix, spaces as ▁), split into characters and user-defined
/// pieces, then repeatedly merge the adjacent pair whose concatenation is a piece with the highest
/// score (ties: leftmost), using a heap over linked symbols, so long inputs cost O(n log n).
/// Characters left without a piece become `<0xXX>` byte pieces (byte fallback) or the unknown id.
/// Control pieces spelled in the text (`<s>`) are plain text, as in sentencepiece.
///
/// A vocabulary read from a GGUF encodes as llama.cpp does instead (`LlamaCppSentencePiece`),
/// llama.cpp being the reference for GGUF files; decoding is the same for both.
public struct SentencePieceTokenizer: Tokenizer {
    public let vocabulary: TokenizerVocabulary
    let llamaCpp: LlamaCppSentencePiece?

    /// A tokenizer that encodes like `sentencepiece`.
    public init(vocabulary: TokenizerVocabulary) {
        self.vocabulary = vocabulary
        self.llamaCpp = nil
    }

    /// A tokenizer that encodes like llama.cpp (GGUF vocabularies); `addsEOS` is
    /// `tokenizer.ggml.add_eos_token`.
    public init(llamaCppVocabulary vocabulary: TokenizerVocabulary, addsEOS: Bool) {
        self.vocabulary = vocabulary
        self.llamaCpp = LlamaCppSentencePiece(vocabulary: vocabulary, addsEOS: addsEOS)
    }

    public var vocabularySize: Int { vocabulary.count }
    public var bosID: Int? { vocabulary.bosID }
    public var eosID: Int? { vocabulary.eosID }

    public func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids: [Int] = []
        if addBOS, vocabulary.addsBOS, let bos = vocabulary.bosID { ids.append(bos) }
        if let llamaCpp {
            llamaCpp.encode(text, addSpecial: addBOS, into: &ids)
            return ids
        }
        let normalized = normalize(text)
        guard !normalized.isEmpty else { return ids }
        ids.reserveCapacity(ids.count + normalized.count / 3 + 1)
        for range in segment(normalized) {
            let piece = normalized[range]
            let id = vocabulary.reserved[piece] ?? vocabulary.mergeable[piece] ?? vocabulary.unknownID
            if id == vocabulary.unknownID && vocabulary.byteFallback {
                for byte in piece { ids.append(vocabulary.byteIDs[Int(byte)]) }
            } else {
                ids.append(id)
            }
        }
        return ids
    }

    public func isBytePiece(_ id: Int) -> Bool {
        vocabulary.kinds.indices.contains(id) && vocabulary.kinds[id] == .byte
    }

    public func decode(_ ids: [Int]) throws(TokenizerProblem) -> String {
        var text: [UInt8] = []
        var pendingBytes: [UInt8] = []
        var isBOSWhitespace = true
        var bosWhitespaceSeen = false
        let space = Array("\u{2581}".utf8)
        for id in ids {
            guard id >= 0 && id < vocabulary.count else { throw .idOutOfRange(id, vocabularySize: vocabulary.count) }
            if vocabulary.kinds[id] == .byte, let byte = vocabulary.byteValues[id] {
                pendingBytes.append(byte)
                continue
            }
            Self.appendDecodedBytes(&pendingBytes, to: &text)
            if bosWhitespaceSeen || !text.isEmpty { isBOSWhitespace = false }
            switch vocabulary.kinds[id] {
            case .control, .byte:
                bosWhitespaceSeen = false
            case .unknown:
                text.append(contentsOf: vocabulary.unknownSurface.utf8)
                bosWhitespaceSeen = false
            case .normal, .userDefined, .unused:
                var piece = Array(vocabulary.pieces[id].utf8)[...]
                var consumed = false
                if isBOSWhitespace && (vocabulary.addDummyPrefix || vocabulary.removeExtraWhitespaces), piece.starts(with: space) {
                    piece = piece.dropFirst(space.count)
                    consumed = !vocabulary.removeExtraWhitespaces
                }
                bosWhitespaceSeen = consumed
                Self.appendUnescaped(piece, to: &text)
            }
        }
        Self.appendDecodedBytes(&pendingBytes, to: &text)
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Normalization

    /// The normalized UTF-8 text: dummy prefix, optional whitespace squeezing, spaces as ▁.
    func normalize(_ text: String) -> [UInt8] {
        var input = Array(text.utf8)[...]
        if vocabulary.removeExtraWhitespaces {
            while input.first == 0x20 { input = input.dropFirst() }
            while input.last == 0x20 { input = input.dropLast() }
        }
        guard !input.isEmpty else { return [] }
        let space: [UInt8] = vocabulary.escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 4 + 3)
        if vocabulary.addDummyPrefix { output.append(contentsOf: space) }
        var previousWasSpace = false
        for byte in input {
            if byte == 0x20 {
                if vocabulary.removeExtraWhitespaces && previousWasSpace { continue }
                output.append(contentsOf: space)
                previousWasSpace = true
            } else {
                output.append(byte)
                previousWasSpace = false
            }
        }
        return output
    }

    // MARK: BPE

    /// A candidate merge of `left` with its right neighbour `right` into a piece of `size` bytes.
    private struct SymbolPair: Comparable {
        let score: Float
        let left: Int
        let right: Int
        let size: Int

        /// Lower priority: a lower score, or the same score further right.
        static func < (a: SymbolPair, b: SymbolPair) -> Bool {
            a.score < b.score || (a.score == b.score && a.left > b.left)
        }
    }

    /// The byte ranges of the final pieces of `normalized` (sentencepiece's `bpe::Model::Encode`).
    func segment(_ normalized: [UInt8]) -> [Range<Int>] {
        var starts: [Int] = []
        var ends: [Int] = []
        var frozen: [Bool] = []
        starts.reserveCapacity(normalized.count)
        ends.reserveCapacity(normalized.count)
        frozen.reserveCapacity(normalized.count)
        var position = 0
        while position < normalized.count {
            var length = 0
            var isUserDefined = false
            for symbol in vocabulary.userDefined where vocabulary.userDefinedLeads[Int(normalized[position])]
                && symbol.count <= normalized.count - position {
                if normalized[position..<position + symbol.count].elementsEqual(symbol) {
                    length = symbol.count
                    isUserDefined = true
                    break
                }
            }
            if !isUserDefined { length = min(Self.utf8Length(lead: normalized[position]), normalized.count - position) }
            starts.append(position)
            ends.append(position + length)
            frozen.append(isUserDefined)
            position += length
        }
        let count = starts.count
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count)
        next[count - 1] = -1
        var queue = PriorityQueue<SymbolPair>(capacity: count)
        var reverseMerges: [ArraySlice<UInt8>: (Range<Int>, Range<Int>)] = [:]

        func addPair(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0, !frozen[left], !frozen[right] else { return }
            let merged = normalized[starts[left]..<ends[right]]
            guard let id = vocabulary.mergeable[merged] else { return }
            if vocabulary.kinds[id] == .unused {
                reverseMerges[merged] = (starts[left]..<ends[left], starts[right]..<ends[right])
            }
            queue.push(SymbolPair(score: vocabulary.scores[id], left: left, right: right, size: merged.count))
        }

        for index in 1..<max(count, 1) { addPair(index - 1, index) }
        while let top = queue.pop() {
            let leftLength = ends[top.left] - starts[top.left]
            let rightLength = ends[top.right] - starts[top.right]
            guard leftLength > 0, rightLength > 0, leftLength + rightLength == top.size else { continue }
            ends[top.left] = ends[top.right]
            starts[top.right] = ends[top.right]
            let after = next[top.right]
            next[top.left] = after
            if after >= 0 { previous[after] = top.left }
            addPair(previous[top.left], top.left)
            addPair(top.left, after)
        }

        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(count)
        func resegment(_ range: Range<Int>) {
            let piece = normalized[range]
            if let id = vocabulary.mergeable[piece], vocabulary.kinds[id] == .unused, let parts = reverseMerges[piece] {
                // Unused pieces are re-split into the pieces that formed them; shift the recorded ranges.
                let shift = range.lowerBound - parts.0.lowerBound
                resegment((parts.0.lowerBound + shift)..<(parts.0.upperBound + shift))
                resegment((parts.1.lowerBound + shift)..<(parts.1.upperBound + shift))
            } else {
                ranges.append(range)
            }
        }
        var index = count > 0 ? 0 : -1
        while index >= 0 {
            resegment(starts[index]..<ends[index])
            index = next[index]
        }
        return ranges
    }

    /// The length of the UTF-8 sequence starting with `lead` (1 for stray bytes).
    static func utf8Length(lead: UInt8) -> Int {
        switch lead {
        case 0xC0...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF7: 4
        default: 1
        }
    }

    // MARK: Decoding helpers

    /// Appends `piece` with ▁ written as a space.
    private static func appendUnescaped(_ piece: ArraySlice<UInt8>, to text: inout [UInt8]) {
        var index = piece.startIndex
        while index < piece.endIndex {
            if piece[index] == 0xE2, index + 2 < piece.endIndex, piece[index + 1] == 0x96, piece[index + 2] == 0x81 {
                text.append(0x20)
                index += 3
            } else {
                text.append(piece[index])
                index += 1
            }
        }
    }

    /// Appends byte pieces' bytes character by character; each byte that does not start a valid
    /// UTF-8 character becomes U+FFFD (sentencepiece's `ProcessBytePieces`).
    static func appendDecodedBytes(_ bytes: inout [UInt8], to text: inout [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let length = validCharacterLength(bytes, at: offset)
            if length == 0 {
                text.append(contentsOf: [0xEF, 0xBF, 0xBD])
                offset += 1
            } else {
                text.append(contentsOf: bytes[offset..<offset + length])
                offset += length
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }

    /// The length of the valid UTF-8 character at `offset` (no overlongs, surrogates or values
    /// above U+10FFFF), or 0.
    static func validCharacterLength(_ bytes: [UInt8], at offset: Int) -> Int {
        let lead = bytes[offset]
        let remaining = bytes.count - offset
        func trail(_ i: Int) -> UInt32? {
            let byte = bytes[offset + i]
            return byte & 0xC0 == 0x80 ? UInt32(byte & 0x3F) : nil
        }
        if lead < 0x80 { return 1 }
        if lead & 0xE0 == 0xC0, remaining >= 2, let b1 = trail(1) {
            let scalar = UInt32(lead & 0x1F) << 6 | b1
            return scalar >= 0x80 ? 2 : 0
        }
        if lead & 0xF0 == 0xE0, remaining >= 3, let b1 = trail(1), let b2 = trail(2) {
            let scalar = UInt32(lead & 0x0F) << 12 | b1 << 6 | b2
            return scalar >= 0x800 && !(0xD800...0xDFFF).contains(scalar) ? 3 : 0
        }
        if lead & 0xF8 == 0xF0, remaining >= 4, let b1 = trail(1), let b2 = trail(2), let b3 = trail(3) {
            let scalar = UInt32(lead & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
            return scalar >= 0x10000 && scalar <= 0x10FFFF ? 4 : 0
        }
        return 0
    }
}
