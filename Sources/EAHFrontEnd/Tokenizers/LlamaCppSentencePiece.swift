/// llama.cpp's SPM tokenizer (`llm_tokenizer_spm`), the reference for GGUF vocabularies with
/// `tokenizer.ggml.model = llama`. It differs from the `sentencepiece` library in ways that
/// change ids on real vocabularies (Gemma 3's user-defined whitespace runs):
///
/// - control, user-defined and unknown tokens spelled in the text are cut out first
///   (`SpecialTokenPartition`), so `"  "` is Gemma's two-space token, not two ▁ pieces;
/// - `add_space_prefix` puts a space before the first text fragment and before every fragment
///   that follows a special token;
/// - any token of the vocabulary can be the result of a merge (by score, ties leftmost), and
///   characters left without a token become `<0xXX>` byte tokens.
struct LlamaCppSentencePiece: Sendable {
    let partition: SpecialTokenPartition
    /// Every token by its UTF-8 text (the last id wins when texts repeat, as in llama.cpp's map).
    let ids: PieceTable
    let scores: [Float]
    let byteIDs: [Int]
    let addSpacePrefix: Bool
    let addsEOS: Bool
    let eosID: Int?

    init(vocabulary: TokenizerVocabulary, addsEOS: Bool) {
        var special: [(id: Int, text: String)] = []
        for (id, piece) in vocabulary.pieces.enumerated() {
            switch vocabulary.kinds[id] {
            case .control, .userDefined, .unknown: special.append((id, piece))
            default: break
            }
        }
        self.partition = SpecialTokenPartition(special: special)
        self.ids = PieceTable(vocabulary.pieces.enumerated().map { (Array($0.element.utf8), $0.offset) }, keepFirst: false)
        self.scores = vocabulary.scores
        self.byteIDs = vocabulary.byteIDs
        self.addSpacePrefix = vocabulary.addDummyPrefix
        self.addsEOS = addsEOS
        self.eosID = vocabulary.eosID
    }

    /// The ids of `text` after BOS (which the caller adds).
    func encode(_ text: String, addSpecial: Bool, into output: inout [Int]) {
        let bytes = Array(text.utf8)
        var previousWasSpecial = true
        for fragment in partition.fragments(bytes) {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousWasSpecial = true
            case .text(let range):
                var escaped: [UInt8] = []
                escaped.reserveCapacity(range.count + range.count / 4 + 3)
                if addSpacePrefix && previousWasSpecial { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) }
                for byte in bytes[range] {
                    if byte == 0x20 { escaped.append(contentsOf: [0xE2, 0x96, 0x81]) } else { escaped.append(byte) }
                }
                tokenize(escaped, into: &output)
                previousWasSpecial = false
            }
        }
        if addSpecial, addsEOS, let eosID { output.append(eosID) }
    }

    private struct Bigram: Comparable {
        let score: Float
        let left: Int
        let right: Int
        let size: Int

        /// Lower priority: a lower score, or the same score further right.
        static func < (a: Bigram, b: Bigram) -> Bool {
            a.score < b.score || (a.score == b.score && a.left > b.left)
        }
    }

    /// `llm_tokenizer_spm_session::tokenize` on escaped text.
    private func tokenize(_ text: [UInt8], into output: inout [Int]) {
        guard !text.isEmpty else { return }
        var starts: [Int] = []
        var ends: [Int] = []
        var position = 0
        while position < text.count {
            let length = min(SentencePieceTokenizer.utf8Length(lead: text[position]), text.count - position)
            starts.append(position)
            ends.append(position + length)
            position += length
        }
        let count = starts.count
        var previous = Array(-1..<(count - 1))
        var next = Array(1...count)
        next[count - 1] = -1
        var queue = PriorityQueue<Bigram>(capacity: count)
        func addBigram(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let id = ids.lookup(text[starts[left]..<ends[right]])
            guard id >= 0 else { return }
            queue.push(Bigram(score: scores[id], left: left, right: right, size: ends[right] - starts[left]))
        }
        for index in 1..<max(count, 1) { addBigram(index - 1, index) }
        while let top = queue.pop() {
            let leftLength = ends[top.left] - starts[top.left]
            let rightLength = ends[top.right] - starts[top.right]
            guard leftLength > 0, rightLength > 0, leftLength + rightLength == top.size else { continue }
            ends[top.left] = ends[top.right]
            starts[top.right] = ends[top.right]
            let after = next[top.right]
            next[top.left] = after
            if after >= 0 { previous[after] = top.left }
            addBigram(previous[top.left], top.left)
            addBigram(top.left, after)
        }
        var index = 0
        while index >= 0 {
            let piece = text[starts[index]..<ends[index]]
            let id = ids.lookup(piece)
            if id >= 0 {
                output.append(id)
            } else {
                for byte in piece { output.append(byteIDs[Int(byte)]) }
            }
            index = next[index]
        }
    }
}
