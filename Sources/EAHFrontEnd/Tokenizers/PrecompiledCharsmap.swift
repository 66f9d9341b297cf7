/// SentencePiece's precompiled normalization rule (`NormalizerSpec.precompiled_charsmap`, e.g.
/// `nmt_nfkc`): a Darts-clone double-array trie over UTF-8 source strings whose values index
/// NUL-terminated replacement strings.
///
/// Layout: a little-endian UInt32 byte size of the trie, the trie's UInt32 units, then the
/// replacement strings. Every index read from the blob is range-checked when used, so a damaged
/// charsmap yields no match rather than a crash; `init` rejects blobs whose sizes do not fit.
public struct PrecompiledCharsmap: Sendable {
    private let units: [UInt32]
    /// The NUL-terminated replacement strings the trie's values index.
    let replacements: [UInt8]

    /// Nil when the blob's sizes do not fit (too short, trie size not a whole number of units
    /// or longer than the blob).
    public init?(_ blob: [UInt8]) {
        guard blob.count >= 4 else { return nil }
        let trieSize = Int(blob[0]) | Int(blob[1]) << 8 | Int(blob[2]) << 16 | Int(blob[3]) << 24
        guard trieSize % 4 == 0, trieSize >= 4, trieSize <= blob.count - 4 else { return nil }
        var units: [UInt32] = []
        units.reserveCapacity(trieSize / 4)
        for offset in stride(from: 4, to: 4 + trieSize, by: 4) {
            units.append(UInt32(blob[offset]) | UInt32(blob[offset + 1]) << 8 | UInt32(blob[offset + 2]) << 16 | UInt32(blob[offset + 3]) << 24)
        }
        self.units = units
        self.replacements = Array(blob[(4 + trieSize)...])
    }

    /// The longest source string the trie holds at the start of `text`: (its length in bytes,
    /// the range of its replacement in `replacements`), or nil (Darts' `commonPrefixSearch`,
    /// longest result).
    func longestMatch(_ text: UnsafeBufferPointer<UInt8>) -> (length: Int, replacement: Range<Int>)? {
        var best: (length: Int, value: Int)?
        var position = 0
        var node = Int(Self.offset(units[0]))
        while position < text.count {
            let byte = text[position]
            node ^= Int(byte)
            guard node < units.count else { break }
            let unit = units[node]
            guard unit & (1 << 31 | 0xFF) == UInt32(byte) else { break }
            node ^= Int(Self.offset(unit))
            guard node < units.count else { break }
            position += 1
            if (unit >> 8) & 1 == 1 { best = (position, Int(units[node] & 0x7FFF_FFFF)) }
        }
        guard let best, best.value < replacements.count else { return nil }
        var end = best.value
        while end < replacements.count, replacements[end] != 0 { end += 1 }
        return (best.length, best.value..<end)
    }

    private static func offset(_ unit: UInt32) -> UInt32 {
        (unit >> 10) << ((unit & (1 << 9)) >> 6)
    }
}
