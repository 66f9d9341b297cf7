import EAHCore

/// An immutable hash table from UTF-8 byte strings (vocabulary pieces) to ids, looked up by
/// pointer and length so the BPE loops can probe substrings of their text without building keys.
///
/// Open addressing over one contiguous key pool; the hash reads 8 bytes at a time. Dictionary
/// lookups with `ArraySlice<UInt8>` keys hash byte by byte and were most of the SentencePiece
/// encoder's time.
struct PieceTable: Sendable {
    /// Every key's bytes, back to back.
    private let pool: [UInt8]
    /// Key `k` is `pool[starts[k]..<starts[k + 1]]`.
    private let starts: [Int32]
    private let values: [Int32]
    /// Key index + 1 per slot (0: empty); a power-of-two count.
    private let slots: [Int32]
    private let mask: Int

    /// `entries` in order; when a key repeats, `keepFirst` decides which value stays.
    init(_ entries: [(key: [UInt8], value: Int)], keepFirst: Bool = true) {
        var capacity = 16
        while capacity < entries.count * 2 { capacity <<= 1 }
        var pool: [UInt8] = []
        var starts: [Int32] = [0]
        var values: [Int32] = []
        var slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        for (key, value) in entries {
            let hash = key.withUnsafeBufferPointer { Self.hash($0.baseAddress, $0.count) }
            var slot = Int(truncatingIfNeeded: hash) & mask
            var replaced = false
            while slots[slot] != 0 {
                let index = Int(slots[slot]) - 1
                if pool[Int(starts[index])..<Int(starts[index + 1])].elementsEqual(key) {
                    if !keepFirst { values[index] = Int32(value) }
                    replaced = true
                    break
                }
                slot = (slot + 1) & mask
            }
            if replaced { continue }
            pool.append(contentsOf: key)
            values.append(Int32(value))
            starts.append(Int32(pool.count))
            slots[slot] = Int32(values.count)
        }
        self.pool = pool
        self.starts = starts
        self.values = values
        self.slots = slots
        self.mask = mask
    }

    /// The id of the `count` bytes at `bytes`, or -1.
    @inline(__always)
    func lookup(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> Int {
        let hash = Self.hash(bytes, count)
        return slots.withUnsafeBufferPointer { slots in
            starts.withUnsafeBufferPointer { starts in
                pool.withUnsafeBufferPointer { pool in
                    var slot = Int(truncatingIfNeeded: hash) & mask
                    while true {
                        let entry = Int(slots[slot])
                        if entry == 0 { return -1 }
                        let start = Int(starts[entry - 1])
                        if Int(starts[entry]) - start == count, memcmp(pool.baseAddress! + start, bytes, count) == 0 {
                            return Int(values[entry - 1])
                        }
                        slot = (slot + 1) & mask
                    }
                }
            }
        }
    }

    /// The id of `key`, or -1.
    func lookup(_ key: ArraySlice<UInt8>) -> Int {
        key.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return withUnsafePointer(to: UInt8(0)) { lookup($0, 0) } }
            return lookup(base, buffer.count)
        }
    }

    @inline(__always)
    private static func hash(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> UInt64 {
        var hash = 0x9E37_79B9_7F4A_7C15 ^ UInt64(count)
        guard let bytes, count > 0 else { return hash &* 0xBF58_476D_1CE4_E5B9 }
        let raw = UnsafeRawPointer(bytes)
        var offset = 0
        while offset + 8 <= count {
            hash = (hash ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            hash ^= hash >> 31
            offset += 8
        }
        if offset < count {
            var tail: UInt64 = 0
            for index in offset..<count { tail = tail << 8 | UInt64(bytes[index]) }
            hash = (hash ^ tail) &* 0x94D0_49BB_1331_11EB
        }
        hash ^= hash >> 29
        hash = hash &* 0xBF58_476D_1CE4_E5B9
        return hash ^ (hash >> 32)
    }
}
