/// One of N interleaved parts of a data set, written `I/N`: the items whose index is I modulo N
/// (0 ≤ I < N). `calibrate --shard` and `eval --shard` split work this way; their `--merge`
/// checks that no two parts share an item.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// The whole data set, as one shard.
    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// The most shards a data set may be split into.
    public static let maximumCount = 1 << 20

    /// Parses `I/N`; nil unless 0 ≤ I < N ≤ `maximumCount`.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), (1...Self.maximumCount).contains(count), (0..<count).contains(index) else { return nil }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether the item at `position` belongs to this shard.
    public func contains(_ position: Int) -> Bool {
        position % count == index
    }

    /// The items of `items` in this shard, in order.
    public func select<Element>(_ items: [Element]) -> [Element] {
        items.enumerated().compactMap { contains($0.offset) ? $0.element : nil }
    }

    /// Whether some item index belongs to both shards: by the Chinese remainder theorem, when
    /// the indexes agree modulo gcd of the counts.
    public func overlaps(_ other: Shard) -> Bool {
        var a = count, b = other.count
        while b != 0 { (a, b) = (b, a % b) }
        return index % a == other.index % a
    }

    /// The first pair of shards in `shards` that share items (the same shard twice included),
    /// by position in `shards`.
    public static func firstOverlap(_ shards: [Shard]) -> (Int, Int)? {
        for second in shards.indices {
            for first in 0..<second where shards[first].overlaps(shards[second]) { return (first, second) }
        }
        return nil
    }

    /// Whether the shards together cover every item exactly once: disjoint, and their
    /// fractions 1/N add up to 1.
    public static func coverWhole(_ shards: [Shard]) -> Bool {
        guard firstOverlap(shards) == nil else { return false }
        // Disjoint residue classes cover everything exactly when their densities 1/N sum to 1.
        var lcm = 1
        for shard in shards {
            var a = lcm, b = shard.count
            while b != 0 { (a, b) = (b, a % b) }
            let (product, overflow) = (lcm / a).multipliedReportingOverflow(by: shard.count)
            guard !overflow else { return false }
            lcm = product
        }
        return shards.reduce(0) { $0 + lcm / $1.count } == lcm
    }
}
