/// llama.cpp's `tokenizer_st_partition`: before a GGUF vocabulary's text is tokenized, control,
/// user-defined and unknown tokens spelled in it are cut out whole. Tokens are taken longest
/// first; each one's occurrences are taken left to right within the text not yet claimed.
///
/// Occurrences are found with a byte trie in one pass, so the cost does not grow with the
/// thousands of control tokens some vocabularies have (Gemma 3: 6,249).
struct SpecialTokenPartition: Sendable {
    /// A piece of the input: plain text (a byte range) or a special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    private struct Node {
        var children: [UInt8: Int32] = [:]
        /// Index into `tokens` of the token ending here, or -1.
        var terminal: Int32 = -1
    }

    /// (id, UTF-8 length) of each special token, in the order llama.cpp takes them.
    private let tokens: [(id: Int, length: Int)]
    private let nodes: [Node]
    /// The root's children by first byte (most bytes start no token).
    private let rootChildren: [Int?]

    /// `special`: (id, text) of the tokens to cut out.
    init(special: [(id: Int, text: String)]) {
        // Longest first; equal lengths by id (llama.cpp's order among those is unspecified, and
        // distinct tokens of equal length cannot both match at one position).
        let ordered = special.filter { !$0.text.isEmpty }.sorted {
            $0.text.utf8.count != $1.text.utf8.count ? $0.text.utf8.count > $1.text.utf8.count : $0.id < $1.id
        }
        var nodes = [Node()]
        var tokens: [(id: Int, length: Int)] = []
        for (id, text) in ordered {
            var node = 0
            for byte in text.utf8 {
                if let child = nodes[node].children[byte] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[byte] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            guard nodes[node].terminal < 0 else { continue }  // the same text twice: the first wins
            nodes[node].terminal = Int32(tokens.count)
            tokens.append((id, text.utf8.count))
        }
        self.tokens = tokens
        self.nodes = nodes
        self.rootChildren = (0..<256).map { byte in nodes[0].children[UInt8(byte)].map(Int.init) }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// `text` cut into plain ranges and special tokens, in order.
    func fragments(_ text: [UInt8]) -> [Fragment] {
        guard !tokens.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(0..<text.count)] }
        // Every occurrence of every token, as (rank, start).
        var occurrences: [(rank: Int, start: Int)] = []
        for start in text.indices {
            guard var node = rootChildren[Int(text[start])] else { continue }
            var position = start + 1
            while true {
                let terminal = nodes[node].terminal
                if terminal >= 0 { occurrences.append((Int(terminal), start)) }
                guard position < text.count, let child = nodes[node].children[text[position]] else { break }
                node = Int(child)
                position += 1
            }
        }
        guard !occurrences.isEmpty else { return [.text(0..<text.count)] }
        // Claim occurrences in llama.cpp's order: by token rank, then left to right.
        occurrences.sort { $0.rank != $1.rank ? $0.rank < $1.rank : $0.start < $1.start }
        var owned = [Bool](repeating: false, count: text.count)
        var claimed: [(start: Int, rank: Int)] = []
        var currentRank = -1
        var end = 0
        for (rank, start) in occurrences {
            if rank != currentRank { currentRank = rank; end = 0 }
            let length = tokens[rank].length
            guard start >= end, !owned[start..<start + length].contains(true) else { continue }
            for index in start..<start + length { owned[index] = true }
            claimed.append((start, rank))
            end = start + length
        }
        claimed.sort { $0.start < $1.start }
        var fragments: [Fragment] = []
        var offset = 0
        for (start, rank) in claimed {
            if offset < start { fragments.append(.text(offset..<start)) }
            fragments.append(.token(tokens[rank].id))
            offset = start + tokens[rank].length
        }
        if offset < text.count { fragments.append(.text(offset..<text.count)) }
        return fragments
    }
}
