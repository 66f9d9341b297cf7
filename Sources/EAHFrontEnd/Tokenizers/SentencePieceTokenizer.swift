import EAHCore

/// A SentencePiece BPE tokenizer (LLaMA, Mistral, …), identical to the `sentencepiece` library's
/// `encode` and `decode` (and to llama.cpp's SPM tokenizer for the pieces sentencepiece produces).
///
/// Encoding: normalize as the model's `NormalizerSpec` says (precompiled charsmap rules such as
/// nmt_nfkc, extra whitespace removal, dummy ▁ prefix, spaces as ▁), split into characters and
/// user-defined pieces, then repeatedly merge the adjacent pair whose concatenation is a piece
/// with the highest score (ties: leftmost), using a heap over linked symbols, so long inputs cost
/// O(n log n). Characters left without a piece become `<0xXX>` byte pieces (byte fallback) or one
/// unknown id per run. Control pieces spelled in the text (`<s>`) are plain text, as in sentencepiece.
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
        normalized.withUnsafeBufferPointer { encodeNormalized($0, into: &ids) }
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

    /// The normalized UTF-8 text, as sentencepiece's `Normalizer::Normalize`: the precompiled
    /// charsmap's replacements (user-defined pieces kept as they are), leading, trailing and
    /// repeated spaces dropped when `removeExtraWhitespaces`, the dummy ▁ prefix, spaces as ▁.
    func normalize(_ text: String) -> [UInt8] {
        let input = Array(text.utf8)
        guard vocabulary.charsmap != nil || vocabulary.removeExtraWhitespaces else {
            // Identity rule, whitespace kept (LLaMA, Mistral): prefix and escape only.
            guard !input.isEmpty else { return [] }
            guard vocabulary.escapeWhitespaces else { return vocabulary.addDummyPrefix ? [0x20] + input : input }
            var output: [UInt8] = []
            output.reserveCapacity(input.count + input.count / 4 + 3)
            if vocabulary.addDummyPrefix { output.append(contentsOf: [0xE2, 0x96, 0x81]) }
            for byte in input {
                if byte == 0x20 { output.append(contentsOf: [0xE2, 0x96, 0x81]) } else { output.append(byte) }
            }
            return output
        }
        let pool = vocabulary.charsmap?.replacements ?? []
        return input.withUnsafeBufferPointer { input in
            pool.withUnsafeBufferPointer { pool in
                Self.replacementCharacter.withUnsafeBufferPointer { invalid in normalizeGeneral(input, pool: pool, invalid: invalid) }
            }
        }
    }

    /// U+FFFD, what a byte of invalid UTF-8 normalizes to.
    private static let replacementCharacter: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// `Normalizer::Normalize` for every setting, without allocating per character: pieces are
    /// slices of the input, of the charsmap's replacement `pool` or `invalid` (U+FFFD).
    private func normalizeGeneral(_ input: UnsafeBufferPointer<UInt8>, pool: UnsafeBufferPointer<UInt8>,
                                  invalid: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        let removeSpaces = vocabulary.removeExtraWhitespaces
        let space: [UInt8] = vocabulary.escapeWhitespaces ? [0xE2, 0x96, 0x81] : [0x20]
        var position = 0
        if removeSpaces {
            while position < input.count {
                let (replacement, consumed) = normalizePrefix(input, at: position, pool: pool, invalid: invalid)
                guard replacement.count == 1, replacement[0] == 0x20 else { break }
                position += consumed
            }
        }
        guard position < input.count else { return [] }
        var output: [UInt8] = []
        output.reserveCapacity((input.count - position) * 2 + 3)
        if vocabulary.addDummyPrefix { output.append(contentsOf: space) }
        var previousWasSpace = removeSpaces
        while position < input.count {
            let (replacement, consumed) = normalizePrefix(input, at: position, pool: pool, invalid: invalid)
            var piece = replacement[...]
            while previousWasSpace, piece.first == 0x20 { piece = piece.dropFirst() }
            if !piece.isEmpty {
                for byte in piece {
                    if byte == 0x20 { output.append(contentsOf: space) } else { output.append(byte) }
                }
                previousWasSpace = piece.last == 0x20
            }
            position += consumed
            if !removeSpaces { previousWasSpace = false }
        }
        if removeSpaces {
            while output.count >= space.count, output[(output.count - space.count)...].elementsEqual(space) {
                output.removeLast(space.count)
            }
        }
        return output
    }

    /// `Normalizer::NormalizePrefix`: the replacement of the text at `position` and the bytes it
    /// consumes: a user-defined piece as it is, else the charsmap's longest rule, else one
    /// character (U+FFFD for one byte of invalid UTF-8).
    private func normalizePrefix(_ input: UnsafeBufferPointer<UInt8>, at position: Int, pool: UnsafeBufferPointer<UInt8>,
                                 invalid: UnsafeBufferPointer<UInt8>) -> (UnsafeBufferPointer<UInt8>, Int) {
        let rest = UnsafeBufferPointer(rebasing: input[position...])
        let userDefined = userDefinedLength(rest)
        if userDefined > 0 { return (UnsafeBufferPointer(rebasing: rest[0..<userDefined]), userDefined) }
        if let charsmap = vocabulary.charsmap, let match = charsmap.longestMatch(rest) {
            return (UnsafeBufferPointer(rebasing: pool[match.replacement]), match.length)
        }
        let length = Self.validCharacterLength(rest)
        if length == 0 { return (invalid, 1) }
        return (UnsafeBufferPointer(rebasing: rest[0..<length]), length)
    }

    /// The length of the longest user-defined piece at the start of `text`, or 0.
    @inline(__always)
    private func userDefinedLength(_ text: UnsafeBufferPointer<UInt8>) -> Int {
        guard let lead = text.first, vocabulary.userDefinedLeads[Int(lead)] else { return 0 }
        for symbol in vocabulary.userDefined where symbol.count <= text.count {
            if symbol.withUnsafeBufferPointer({ memcmp($0.baseAddress!, text.baseAddress!, symbol.count) == 0 }) {
                return symbol.count
            }
        }
        return 0
    }

    // MARK: BPE

    /// A candidate merge of `left` with its right neighbour `right` into piece `id` of `size` bytes.
    private struct SymbolPair: Comparable {
        let score: Float
        let left: Int32
        let right: Int32
        let size: Int32
        let id: Int32

        /// Lower priority: a lower score, or the same score further right.
        static func < (a: SymbolPair, b: SymbolPair) -> Bool {
            a.score < b.score || (a.score == b.score && a.left > b.left)
        }
    }

    /// A symbol of the text being merged: bytes `start..<end`, its piece id (-1: none yet),
    /// neighbours in the linked list, and whether it is a user-defined piece (never merged).
    private struct Symbol {
        var start: Int32
        var end: Int32
        var previous: Int32
        var next: Int32
        var id: Int32
        var frozen: Bool
    }

    /// Appends the ids of normalized text (sentencepiece's `bpe::Model::Encode`, then
    /// `PieceToId` with byte fallback): user-defined pieces are cut out, the rest starts as
    /// characters, and the adjacent pair whose concatenation is the best-scoring piece is merged
    /// until none is left.
    func encodeNormalized(_ text: UnsafeBufferPointer<UInt8>, into ids: inout [Int]) {
        guard let base = text.baseAddress, !text.isEmpty else { return }
        let mergeable = vocabulary.mergeableTable
        let scores = vocabulary.scores
        var symbols: [Symbol] = []
        symbols.reserveCapacity(text.count)
        var position = 0
        while position < text.count {
            let userDefined = userDefinedLength(UnsafeBufferPointer(rebasing: text[position...]))
            let length = userDefined > 0 ? userDefined : min(Self.utf8Length(lead: text[position]), text.count - position)
            let index = Int32(symbols.count)
            symbols.append(Symbol(start: Int32(position), end: Int32(position + length), previous: index - 1, next: index + 1,
                                  id: Int32(mergeable.lookup(base + position, length)), frozen: userDefined > 0))
            position += length
        }
        symbols[symbols.count - 1].next = -1
        // The last pair recorded for each unused piece a candidate merge would produce, by id.
        var reverseMerges: [Int32: (left: Range<Int>, right: Range<Int>)] = [:]
        let kinds = vocabulary.kinds
        symbols.withUnsafeMutableBufferPointer { symbols in
            var queue = PriorityQueue<SymbolPair>(capacity: symbols.count)
            func addPair(_ left: Int32, _ right: Int32) {
                guard left >= 0, right >= 0 else { return }
                let l = symbols[Int(left)], r = symbols[Int(right)]
                guard !l.frozen, !r.frozen else { return }
                let id = mergeable.lookup(base + Int(l.start), Int(r.end - l.start))
                guard id >= 0 else { return }
                if kinds[id] == .unused {
                    reverseMerges[Int32(id)] = (Int(l.start)..<Int(l.end), Int(r.start)..<Int(r.end))
                }
                queue.push(SymbolPair(score: scores[id], left: left, right: right, size: r.end - l.start, id: Int32(id)))
            }
            for index in 1..<Int32(max(symbols.count, 1)) { addPair(index - 1, index) }
            while let top = queue.pop() {
                let left = Int(top.left), right = Int(top.right)
                let leftLength = symbols[left].end - symbols[left].start
                let rightLength = symbols[right].end - symbols[right].start
                guard leftLength > 0, rightLength > 0, leftLength + rightLength == top.size else { continue }
                symbols[left].end = symbols[right].end
                symbols[left].id = top.id
                symbols[right].start = symbols[right].end
                let after = symbols[right].next
                symbols[left].next = after
                if after >= 0 { symbols[Int(after)].previous = top.left }
                addPair(symbols[left].previous, top.left)
                addPair(top.left, after)
            }
        }
        var index = 0
        var previousWasUnknown = false
        while index >= 0 {
            let symbol = symbols[index]
            if reverseMerges.isEmpty {
                appendPiece(UnsafeBufferPointer(rebasing: text[Int(symbol.start)..<Int(symbol.end)]), id: Int(symbol.id), into: &ids,
                            previousWasUnknown: &previousWasUnknown)
            } else {
                resegment(Int(symbol.start)..<Int(symbol.end), of: text, reverseMerges: reverseMerges, into: &ids,
                          previousWasUnknown: &previousWasUnknown)
            }
            index = Int(symbol.next)
        }
    }

    /// sentencepiece's `resegment`: an unused piece is replaced by the two pieces its recorded
    /// merge joined, recursively.
    private func resegment(_ range: Range<Int>, of text: UnsafeBufferPointer<UInt8>,
                           reverseMerges: [Int32: (left: Range<Int>, right: Range<Int>)], into ids: inout [Int],
                           previousWasUnknown: inout Bool) {
        let piece = UnsafeBufferPointer(rebasing: text[range])
        let id = vocabulary.hasReservedPieces && vocabulary.reservedTable.lookup(piece.baseAddress!, piece.count) >= 0
            ? -1 : vocabulary.mergeableTable.lookup(piece.baseAddress!, piece.count)
        if id >= 0, vocabulary.kinds[id] == .unused, let parts = reverseMerges[Int32(id)] {
            resegment(parts.left, of: text, reverseMerges: reverseMerges, into: &ids, previousWasUnknown: &previousWasUnknown)
            resegment(parts.right, of: text, reverseMerges: reverseMerges, into: &ids, previousWasUnknown: &previousWasUnknown)
        } else {
            appendPiece(piece, id: id, into: &ids, previousWasUnknown: &previousWasUnknown)
        }
    }

    /// Appends the id of a final piece (`mergeableID`: its id among mergeable pieces, or -1):
    /// a reserved piece of the same text first (`PieceToId`), else the piece, else its bytes'
    /// `<0xXX>` pieces (byte fallback) or the unknown id.
    /// Without byte fallback, a run of unknown pieces becomes one unknown id (`previousWasUnknown`
    /// carries the run across calls), as sentencepiece merges them.
    @inline(__always)
    private func appendPiece(_ piece: UnsafeBufferPointer<UInt8>, id mergeableID: Int, into ids: inout [Int],
                             previousWasUnknown: inout Bool) {
        var id = mergeableID
        if vocabulary.hasReservedPieces {
            let reserved = vocabulary.reservedTable.lookup(piece.baseAddress!, piece.count)
            if reserved >= 0 { id = reserved }
        }
        guard id < 0 || id == vocabulary.unknownID else {
            ids.append(id)
            previousWasUnknown = false
            return
        }
        if vocabulary.byteFallback {
            for byte in piece { ids.append(vocabulary.byteIDs[Int(byte)]) }
        } else if !previousWasUnknown {
            ids.append(vocabulary.unknownID)
        }
        previousWasUnknown = true
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
            let length = bytes.withUnsafeBufferPointer { validCharacterLength(UnsafeBufferPointer(rebasing: $0[offset...])) }
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

    /// The length of the valid UTF-8 character at the start of `bytes` (no overlongs,
    /// surrogates or values above U+10FFFF), or 0.
    static func validCharacterLength(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        guard let lead = bytes.first else { return 0 }
        let remaining = bytes.count
        func trail(_ i: Int) -> UInt32? {
            let byte = bytes[i]
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
