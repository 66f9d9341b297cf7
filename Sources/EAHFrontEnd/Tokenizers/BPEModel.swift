/// The `tokenizers` library's BPE model: a word's characters become tokens (with byte fallback
/// or the unknown token for characters outside the vocabulary), then adjacent tokens are merged
/// by merge rank, lowest first, ties leftmost (`BPE::merge_word` + `merge_all`).
public struct BPEModel: TokenizerModel {
    public let tokenTexts: [String?]
    let vocabulary: [ArraySlice<UInt8>: Int]
    /// (left id << 32 | right id) → (rank, merged id).
    let merges: [UInt64: (rank: Int, id: Int)]
    let unknownID: Int?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    /// The id of each byte's `<0xXX>` token, for byte fallback.
    let byteIDs: [Int?]

    /// Checks and indexes the model. `size` is the id table's length (the vocabulary plus added tokens).
    init(vocabulary: [String: Int], merges: [(String, String)], unknownToken: String?, fuseUnknown: Bool,
         byteFallback: Bool, ignoreMerges: Bool, size: Int) throws(TokenizerProblem) {
        var byText: [ArraySlice<UInt8>: Int] = [:]
        byText.reserveCapacity(vocabulary.count)
        var texts = [String?](repeating: nil, count: size)
        for (text, id) in vocabulary {
            byText[ArraySlice(Array(text.utf8))] = id
            texts[id] = text
        }
        var mergeTable: [UInt64: (rank: Int, id: Int)] = [:]
        mergeTable.reserveCapacity(merges.count)
        for (rank, (left, right)) in merges.enumerated() {
            guard let a = vocabulary[left], let b = vocabulary[right], let merged = vocabulary[left + right] else {
                throw .invalidMerge(left + " " + right)
            }
            let key = UInt64(a) << 32 | UInt64(b)
            if mergeTable[key] == nil { mergeTable[key] = (rank, merged) }
        }
        self.tokenTexts = texts
        self.vocabulary = byText
        self.merges = mergeTable
        self.unknownID = unknownToken.flatMap { vocabulary[$0] }
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.byteIDs = (0...255).map { vocabulary[TokenizerVocabulary.bytePiece(UInt8($0))] }
    }

    public func id(of token: String) -> Int? { vocabulary[ArraySlice(Array(token.utf8))] }

    /// Whether `id` is a `<0xXX>` byte-fallback token.
    func isByteFallbackID(_ id: Int) -> Bool { byteFallback && byteIDs.contains(id) }

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

    public func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
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
}
