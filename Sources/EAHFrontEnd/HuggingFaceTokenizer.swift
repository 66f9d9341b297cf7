/// A Hugging Face `tokenizer.json` BPE tokenizer (LLaMA/LLaVA), identical to the `tokenizers`
/// library's `encode` and `decode`.
///
/// Encoding: added tokens (`<s>`, `<image>`, …) are matched whole first (leftmost-longest,
/// honouring `lstrip`, `rstrip`, `single_word`; `normalized` ones after normalization); each
/// remaining piece of text is normalized, pre-tokenized (Metaspace), and BPE-merged by merge rank
/// (lowest first, ties leftmost) with byte fallback; the post-processor template adds BOS.
/// Loaded by `TokenizerJSONFile.load(path:)`.
public struct HuggingFaceTokenizer: Tokenizer {
    /// Token texts by id (model vocabulary and added tokens).
    public let tokens: [String?]
    public let addedTokens: [AddedToken]
    public let normalizer: [TextNormalizerStep]
    public let preTokenizer: MetaspacePreTokenizer?
    public let decoder: [TokenDecoderStep]
    /// Ids the post-processor puts before and after the text when special tokens are added.
    public let prefixIDs: [Int]
    public let suffixIDs: [Int]
    public let bosID: Int?
    public let eosID: Int?

    let vocabulary: [ArraySlice<UInt8>: Int]
    /// (left id << 32 | right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int, id: Int)]
    let unknownID: Int?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let byteIDs: [Int?]
    let specialIDs: Set<Int>
    /// Added tokens matched in the raw text and in the normalized text, with their scalars.
    let rawMatchers: [(AddedToken, [Unicode.Scalar])]
    let normalizedMatchers: [(AddedToken, [Unicode.Scalar])]

    public var vocabularySize: Int { tokens.count }

    init(vocabulary: [String: Int], merges: [(String, String)], unknownToken: String?, fuseUnknown: Bool, byteFallback: Bool,
         ignoreMerges: Bool, addedTokens: [AddedToken], normalizer: [TextNormalizerStep], preTokenizer: MetaspacePreTokenizer?,
         decoder: [TokenDecoderStep], prefixIDs: [Int], suffixIDs: [Int]) throws(TokenizerProblem) {
        var byText: [ArraySlice<UInt8>: Int] = [:]
        var size = 0
        for (text, id) in vocabulary {
            byText[ArraySlice(Array(text.utf8))] = id
            size = max(size, id + 1)
        }
        for token in addedTokens { size = max(size, token.id + 1) }
        // Ids index a table; refuse absurdly sparse ones instead of allocating gigabytes.
        guard size <= max(1 << 24, 4 * (vocabulary.count + addedTokens.count)) else { throw .malformedJSON(path: "model.vocab") }
        var tokens = [String?](repeating: nil, count: size)
        for (text, id) in vocabulary { tokens[id] = text }
        for token in addedTokens { tokens[token.id] = token.content }
        var mergeTable: [UInt64: (rank: Int, id: Int)] = [:]
        mergeTable.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = vocabulary[left], let b = vocabulary[right], let merged = vocabulary[left + right] else {
                throw .invalidMerge(left + " " + right)
            }
            let key = UInt64(a) << 32 | UInt64(b)
            if mergeTable[key] == nil { mergeTable[key] = (rank, merged) }
        }
        self.tokens = tokens
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.decoder = decoder
        self.prefixIDs = prefixIDs
        self.suffixIDs = suffixIDs
        self.vocabulary = byText
        self.merges = mergeTable
        self.unknownID = unknownToken.flatMap { vocabulary[$0] }
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteIDs = (0...255).map { vocabulary[TokenizerVocabulary.bytePiece(UInt8($0))] }
        self.specialIDs = Set(addedTokens.filter(\.special).map(\.id))
        self.bosID = addedTokens.first { $0.content == "<s>" }?.id ?? vocabulary["<s>"]
        self.eosID = addedTokens.first { $0.content == "</s>" }?.id ?? vocabulary["</s>"]
        self.rawMatchers = addedTokens.filter { !$0.normalized && !$0.content.isEmpty }.map { ($0, Array($0.content.unicodeScalars)) }
        var normalizedMatchers: [(AddedToken, [Unicode.Scalar])] = []
        for token in addedTokens where token.normalized && !token.content.isEmpty {
            var scalars = Array(token.content.unicodeScalars)
            for step in normalizer { scalars = step.apply(scalars) }
            normalizedMatchers.append((token, scalars))
        }
        self.normalizedMatchers = normalizedMatchers
    }

    // MARK: Encoding

    public func encode(_ text: String, addBOS: Bool) -> [Int] {
        var ids: [Int] = []
        let scalars = Array(text.unicodeScalars)
        for (range, token) in Self.split(scalars, matchers: rawMatchers) {
            if let token { ids.append(token); continue }
            var normalized = Array(scalars[range])
            for step in normalizer { normalized = step.apply(normalized) }
            for (inner, innerToken) in Self.split(normalized, matchers: normalizedMatchers) {
                if let innerToken { ids.append(innerToken); continue }
                let piece = Array(normalized[inner])
                let atStart = range.lowerBound == 0 && inner.lowerBound == 0
                let words = preTokenizer.map { $0.words(piece, atStart: atStart) } ?? (piece.isEmpty ? [] : [piece])
                for word in words { encodeWord(word, into: &ids) }
            }
        }
        return addBOS ? prefixIDs + ids + suffixIDs : ids
    }

    /// Cuts `text` at matches of the added tokens: (range, token id or nil for plain text), as
    /// `tokenizers`' `AddedVocabulary::find_matches` does; empty plain pieces are dropped.
    static func split(_ text: [Unicode.Scalar], matchers: [(AddedToken, [Unicode.Scalar])]) -> [(Range<Int>, Int?)] {
        guard !matchers.isEmpty else { return text.isEmpty ? [] : [(0..<text.count, nil)] }
        var matches: [(Range<Int>, Int)] = []
        var position = 0
        var previousStop = 0
        while position < text.count {
            var best: (AddedToken, Int)?
            for (token, scalars) in matchers where scalars.count <= text.count - position && scalars.count > (best?.1 ?? 0) {
                if text[position] == scalars[0], text[position..<position + scalars.count].elementsEqual(scalars) {
                    best = (token, scalars.count)
                }
            }
            guard let (token, length) = best else { position += 1; continue }
            var start = position
            var stop = position + length
            position = stop
            if token.singleWord {
                let before = start > 0 && isWordCharacter(text[start - 1])
                let after = stop < text.count && isWordCharacter(text[stop])
                if before || after { continue }
            }
            if token.lstrip {
                var newStart = start
                while newStart > 0, text[newStart - 1].properties.isWhitespace { newStart -= 1 }
                start = max(newStart, previousStop)
            }
            if token.rstrip {
                while stop < text.count, text[stop].properties.isWhitespace { stop += 1 }
            }
            previousStop = stop
            matches.append((start..<stop, token.id))
        }
        var pieces: [(Range<Int>, Int?)] = []
        var offset = 0
        for (range, id) in matches {
            if offset < range.lowerBound { pieces.append((offset..<range.lowerBound, nil)) }
            pieces.append((range, id))
            offset = range.upperBound
        }
        if offset < text.count { pieces.append((offset..<text.count, nil)) }
        return pieces
    }

    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || scalar.properties.numericType != nil || scalar == "_"
    }

    /// A pending merge of the symbol at `position` with its right neighbour.
    private struct Merge: Comparable {
        let rank: Int
        let position: Int
        let id: Int

        /// Lower priority: a higher rank, or the same rank further right.
        static func < (a: Merge, b: Merge) -> Bool {
            a.rank > b.rank || (a.rank == b.rank && a.position > b.position)
        }
    }

    /// Appends the BPE ids of one pre-tokenized word (`tokenizers`' `BPE::merge_word` + `merge_all`).
    func encodeWord(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        let bytes = ScalarText.utf8(word)
        if ignoreMerges, let id = vocabulary[bytes[...]] { ids.append(id); return }
        var symbols: [Int] = []
        var lengths: [Int] = []
        symbols.reserveCapacity(word.count)
        var offset = 0
        var previousWasUnknown = false
        for scalar in word {
            let length = UTF8.width(scalar)
            let piece = bytes[offset..<offset + length]
            offset += length
            if let id = vocabulary[piece] {
                symbols.append(id); lengths.append(length); previousWasUnknown = false
                continue
            }
            if byteFallback {
                let fallback = piece.map { byteIDs[Int($0)] }
                if fallback.allSatisfy({ $0 != nil }) {
                    for id in fallback { symbols.append(id ?? 0); lengths.append(1) }
                    previousWasUnknown = false
                    continue
                }
            }
            guard let unknownID else { continue }
            if fuseUnknown && previousWasUnknown, let last = lengths.indices.last {
                lengths[last] += length
            } else {
                symbols.append(unknownID); lengths.append(length)
            }
            previousWasUnknown = true
        }
        guard symbols.count > 1 else { ids.append(contentsOf: symbols); return }
        let count = symbols.count
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count)
        next[count - 1] = -1
        var queue = PriorityQueue<Merge>(capacity: count)
        func pair(_ a: Int, _ b: Int) -> (rank: Int, id: Int)? { merges[UInt64(symbols[a]) << 32 | UInt64(symbols[b])] }
        for index in 0..<(count - 1) {
            if let merge = pair(index, index + 1) { queue.push(Merge(rank: merge.rank, position: index, id: merge.id)) }
        }
        while let top = queue.pop() {
            guard lengths[top.position] > 0 else { continue }
            let right = next[top.position]
            guard right >= 0, let merge = pair(top.position, right), merge.id == top.id else { continue }
            symbols[top.position] = top.id
            lengths[top.position] += lengths[right]
            lengths[right] = 0
            next[top.position] = next[right]
            if next[right] >= 0 { previous[next[right]] = top.position }
            let before = previous[top.position]
            if before >= 0, let merge = pair(before, top.position) {
                queue.push(Merge(rank: merge.rank, position: before, id: merge.id))
            }
            let after = next[top.position]
            if after >= 0, let merge = pair(top.position, after) {
                queue.push(Merge(rank: merge.rank, position: top.position, id: merge.id))
            }
        }
        var index = 0
        while index >= 0 {
            ids.append(symbols[index])
            index = next[index]
        }
    }

    // MARK: Decoding

    /// The text of `ids` without special added tokens (like sentencepiece dropping `<s>`).
    public func isBytePiece(_ id: Int) -> Bool {
        byteFallback && byteIDs.contains(id)
    }

    public func decode(_ ids: [Int]) throws(TokenizerProblem) -> String {
        try decode(ids, skipSpecialTokens: true)
    }

    /// The text of `ids` as `tokenizers`' `decode(ids, skip_special_tokens)`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool) throws(TokenizerProblem) -> String {
        var pieces: [String] = []
        pieces.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0, id < tokens.count else { throw .idOutOfRange(id, vocabularySize: tokens.count) }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            guard let token = tokens[id] else { continue }
            pieces.append(token)
        }
        if decoder.isEmpty { return pieces.joined(separator: " ") }
        for step in decoder { pieces = step.apply(pieces) }
        return pieces.joined()
    }
}
