/// llama.cpp's `tokenizer_st_partition`: before a GGUF vocabulary's text is tokenized, control,
/// user-defined and unknown tokens spelled in it are cut out whole. Tokens are taken longest
/// first; each one's occurrences are taken left to right within the text not yet claimed.
///
/// Occurrences are found with a byte trie in one pass, so the cost does not grow with the
/// thousands of control tokens some vocabularies have (Gemma 3: 6,249). The trie's edges live in
/// one open-addressing table keyed by (node, byte): Gemma's whitespace-run tokens make the walk
/// start at most spaces and line feeds of a text.
struct SpecialTokenPartition: Sendable {
    /// A piece of the input: plain text (a byte range) or a special token.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int)
    }

    /// The trie's edges: open addressing over keys `node << 8 | byte + 1` (0: empty slot).
    private struct Edges: Sendable {
        private let keys: [UInt64]
        private let children: [Int32]
        private let mask: Int

        init(_ edges: [UInt64: Int32]) {
            var capacity = 16
            while capacity < edges.count * 2 { capacity <<= 1 }
            var keys = [UInt64](repeating: 0, count: capacity)
            var children = [Int32](repeating: 0, count: capacity)
            for (key, child) in edges {
                var slot = Self.slot(key + 1, capacity - 1)
                while keys[slot] != 0 { slot = (slot + 1) & (capacity - 1) }
                keys[slot] = key + 1
                children[slot] = child
            }
            self.keys = keys
            self.children = children
            self.mask = capacity - 1
        }

        @inline(__always)
        static func slot(_ key: UInt64, _ mask: Int) -> Int {
            Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> 29) & mask
        }

        /// The child of `node` by `byte`, or -1.
        @inline(__always)
        func child(_ node: Int32, _ byte: UInt8) -> Int32 {
            let key = UInt64(UInt32(bitPattern: node)) << 8 | UInt64(byte)
            return keys.withUnsafeBufferPointer { keys in
                var slot = Self.slot(key + 1, mask)
                while true {
                    let stored = keys[slot]
                    if stored == key + 1 { return children[slot] }
                    if stored == 0 { return -1 }
                    slot = (slot + 1) & mask
                }
            }
        }
    }

    /// (id, UTF-8 length) of each special token, in the order llama.cpp takes them.
    private let tokens: [(id: Int, length: Int)]
    /// Per trie node: the index into `tokens` of the token ending there, or -1.
    private let terminals: [Int32]
    private let edges: Edges
    /// The root's children by first byte, or -1 (most bytes start no token).
    private let rootChildren: [Int32]

    /// `special`: (id, text) of the tokens to cut out.
    init(special: [(id: Int, text: String)]) {
        // Longest first; equal lengths by id (llama.cpp's order among those is unspecified, and
        // distinct tokens of equal length cannot both match at one position).
        let ordered = special.filter { !$0.text.isEmpty }.sorted {
            $0.text.utf8.count != $1.text.utf8.count ? $0.text.utf8.count > $1.text.utf8.count : $0.id < $1.id
        }
        var terminals: [Int32] = [-1]
        var edges: [UInt64: Int32] = [:]
        var tokens: [(id: Int, length: Int)] = []
        for (id, text) in ordered {
            var node: Int32 = 0
            for byte in text.utf8 {
                let key = UInt64(node) << 8 | UInt64(byte)
                if let child = edges[key] {
                    node = child
                } else {
                    terminals.append(-1)
                    node = Int32(terminals.count - 1)
                    edges[key] = node
                }
            }
            guard terminals[Int(node)] < 0 else { continue }  // the same text twice: the first wins
            terminals[Int(node)] = Int32(tokens.count)
            tokens.append((id, text.utf8.count))
        }
        self.tokens = tokens
        self.terminals = terminals
        self.edges = Edges(edges)
        self.rootChildren = (0..<256).map { byte in edges[UInt64(byte)] ?? -1 }
    }

    var isEmpty: Bool { tokens.isEmpty }

    /// `text` cut into plain ranges and special tokens, in order.
    func fragments(_ text: [UInt8]) -> [Fragment] {
        guard !tokens.isEmpty, !text.isEmpty else { return text.isEmpty ? [] : [.text(0..<text.count)] }
        // Every occurrence of every token, as (rank, start).
        var occurrences: [(rank: Int, start: Int)] = []
        for start in text.indices {
            var node = rootChildren[Int(text[start])]
            guard node >= 0 else { continue }
            var position = start + 1
            while true {
                let terminal = terminals[Int(node)]
                if terminal >= 0 { occurrences.append((Int(terminal), start)) }
                guard position < text.count else { break }
                node = edges.child(node, text[position])
                guard node >= 0 else { break }
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
