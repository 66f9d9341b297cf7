/// A SentencePiece vocabulary with its normalizer settings: what `SentencePieceTokenizer` needs,
/// whether it came from `tokenizer.model` or from a GGUF's `tokenizer.ggml.*` metadata.
///
/// A piece's id is its index. Lookups follow SentencePiece: normal, user-defined and unused pieces
/// are candidates for merges; the others (unknown, control, byte) are found only by exact id lookup.
public struct TokenizerVocabulary: Sendable {
    /// The piece texts (whitespace written as ▁ U+2581).
    public let pieces: [String]
    /// Merge priorities: among candidate merges, the one whose piece scores highest wins.
    public let scores: [Float]
    public let kinds: [TokenPieceKind]
    public let unknownID: Int
    public let bosID: Int?
    public let eosID: Int?
    /// Whether `encode(_:addBOS: true)` puts `bosID` first (GGUF `add_bos_token`; true for SentencePiece).
    public let addsBOS: Bool
    /// Characters without a piece become their UTF-8 bytes' `<0xXX>` pieces instead of `unknownID`.
    public let byteFallback: Bool
    /// Prepend ▁ to non-empty input (LLaMA: true).
    public let addDummyPrefix: Bool
    /// Drop leading and trailing spaces and squeeze runs of spaces (LLaMA: false).
    public let removeExtraWhitespaces: Bool
    /// Write spaces as ▁ (LLaMA: true).
    public let escapeWhitespaces: Bool
    /// What `decode` prints for the unknown piece (SentencePiece: " ⁇ ").
    public let unknownSurface: String
    /// The precompiled normalization rule (`nmt_nfkc`, custom rules), or nil for `identity`.
    let charsmap: PrecompiledCharsmap?

    /// Pieces that merges may produce (normal, user-defined, unused), by UTF-8 text.
    let mergeableTable: PieceTable
    /// The other pieces (unknown, control, byte), by UTF-8 text.
    let reservedTable: PieceTable
    /// Whether some reserved piece's text could be a final piece of the BPE (a mergeable
    /// piece's text, or a single character): only then must final pieces be looked up among
    /// reserved pieces first, as `PieceToId` does.
    let hasReservedPieces: Bool
    /// The id of each byte's `<0xXX>` piece (the unknown id when missing).
    let byteIDs: [Int]
    /// The byte value of each id that is a byte piece.
    let byteValues: [Int: UInt8]
    /// User-defined pieces' UTF-8 bytes, longest first.
    let userDefined: [[UInt8]]
    /// Whether some user-defined piece starts with the byte (most bytes start none).
    let userDefinedLeads: [Bool]

    /// Checks and indexes a vocabulary.
    ///
    /// Throws `duplicatePiece` when two pieces of the same lookup class share a text, and
    /// `invalidSpecialID` when a special id is out of range.
    public init(pieces: [String], scores: [Float], kinds: [TokenPieceKind], unknownID: Int, bosID: Int?, eosID: Int?,
                addsBOS: Bool = true, byteFallback: Bool, addDummyPrefix: Bool = true, removeExtraWhitespaces: Bool = false,
                escapeWhitespaces: Bool = true, unknownSurface: String = " \u{2047} ",
                charsmap: PrecompiledCharsmap? = nil) throws(TokenizerProblem) {
        guard !pieces.isEmpty else { throw .emptyVocabulary }
        precondition(pieces.count == scores.count && pieces.count == kinds.count, "pieces, scores and kinds differ in length")
        for (which, id) in [("unk", Optional(unknownID)), ("bos", bosID), ("eos", eosID)] {
            if let id, !(0..<pieces.count).contains(id) {
                throw .invalidSpecialID(which: which, id: id, vocabularySize: pieces.count)
            }
        }
        self.pieces = pieces
        self.scores = scores
        self.kinds = kinds
        self.unknownID = unknownID
        self.bosID = bosID
        self.eosID = eosID
        self.addsBOS = addsBOS
        self.byteFallback = byteFallback
        self.addDummyPrefix = addDummyPrefix
        self.removeExtraWhitespaces = removeExtraWhitespaces
        self.escapeWhitespaces = escapeWhitespaces
        self.unknownSurface = unknownSurface
        self.charsmap = charsmap

        var mergeable: [ArraySlice<UInt8>: Int] = [:]
        var reserved: [ArraySlice<UInt8>: Int] = [:]
        var userDefined: [[UInt8]] = []
        var byteValues: [Int: UInt8] = [:]
        mergeable.reserveCapacity(pieces.count)
        for (id, piece) in pieces.enumerated() {
            let bytes = ArraySlice(Array(piece.utf8))
            switch kinds[id] {
            case .normal, .userDefined, .unused:
                guard mergeable.updateValue(id, forKey: bytes) == nil else { throw .duplicatePiece(piece, id: id) }
                if kinds[id] == .userDefined, !bytes.isEmpty { userDefined.append(Array(bytes)) }
            case .unknown, .control, .byte:
                guard reserved.updateValue(id, forKey: bytes) == nil else { throw .duplicatePiece(piece, id: id) }
                if kinds[id] == .byte, let value = Self.byteValue(of: piece) { byteValues[id] = value }
            }
        }
        self.mergeableTable = PieceTable(mergeable.map { (Array($0.key), $0.value) })
        self.reservedTable = PieceTable(reserved.map { (Array($0.key), $0.value) })
        self.hasReservedPieces = reserved.keys.contains { key in
            mergeable[key] != nil || (key.first.map { SentencePieceTokenizer.utf8Length(lead: $0) == key.count } ?? false)
        }
        self.userDefined = userDefined.sorted { $0.count > $1.count }
        var leads = [Bool](repeating: false, count: 256)
        for piece in userDefined { leads[Int(piece[0])] = true }
        self.userDefinedLeads = leads
        self.byteValues = byteValues
        var byteIDs: [Int] = []
        for byte in 0...255 {
            let piece = ArraySlice(Array(Self.bytePiece(UInt8(byte)).utf8))
            byteIDs.append(reserved[piece] ?? mergeable[piece] ?? unknownID)
        }
        self.byteIDs = byteIDs
    }

    /// The number of pieces.
    public var count: Int { pieces.count }

    /// The id of `piece` as SentencePiece's `PieceToId` finds it (reserved pieces first), or nil.
    public func id(of piece: String) -> Int? {
        let bytes = ArraySlice(Array(piece.utf8))
        let reserved = reservedTable.lookup(bytes)
        if reserved >= 0 { return reserved }
        let mergeable = mergeableTable.lookup(bytes)
        return mergeable >= 0 ? mergeable : nil
    }

    /// `<0xXX>` with upper-case hex digits, as SentencePiece names byte pieces.
    static func bytePiece(_ byte: UInt8) -> String {
        let hex = String(byte, radix: 16, uppercase: true)
        return "<0x" + (hex.count == 1 ? "0" + hex : hex) + ">"
    }

    /// The byte a `<0xXX>` piece stands for.
    static func byteValue(of piece: String) -> UInt8? {
        let utf8 = Array(piece.utf8)
        guard utf8.count == 6, piece.hasPrefix("<0x"), piece.hasSuffix(">") else { return nil }
        return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
    }
}
