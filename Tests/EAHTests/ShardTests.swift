import EAH
import Testing

@Suite("shards I/N")
struct ShardTests {
    @Test("parsing accepts 0 ≤ I < N only")
    func parsing() {
        #expect(Shard("1/4") == Shard(index: 1, count: 4))
        for bad in ["4/4", "-1/4", "1/0", "1", "a/b", "1/4/2", "", "0/\(Shard.maximumCount + 1)"] { #expect(Shard(bad) == nil, "\(bad)") }
    }

    @Test("a shard selects the items whose index is I modulo N")
    func selection() {
        #expect(Shard(index: 1, count: 3).select(Array(0..<8)) == [1, 4, 7])
        #expect(Shard.whole.select(["a", "b"]) == ["a", "b"])
    }

    @Test("overlap: the same residue modulo the gcd of the counts")
    func overlap() {
        #expect(Shard(index: 0, count: 2).overlaps(Shard(index: 2, count: 4)))   // item 2
        #expect(!Shard(index: 0, count: 2).overlaps(Shard(index: 1, count: 4)))
        #expect(Shard(index: 1, count: 2).overlaps(Shard(index: 0, count: 3)))   // item 3
        #expect(Shard.whole.overlaps(Shard(index: 5, count: 7)))
        #expect(Shard.firstOverlap([Shard(index: 0, count: 2), Shard(index: 1, count: 4), Shard(index: 3, count: 4)]) == nil)
        #expect(Shard.firstOverlap([Shard(index: 0, count: 2), Shard(index: 1, count: 2), Shard(index: 0, count: 2)]).map { [$0.0, $0.1] } == [0, 2])
    }

    @Test("disjoint shards cover everything when their fractions add up to 1")
    func cover() {
        #expect(Shard.coverWhole([Shard(index: 0, count: 2), Shard(index: 1, count: 4), Shard(index: 3, count: 4)]))
        #expect(!Shard.coverWhole([Shard(index: 0, count: 2), Shard(index: 1, count: 4)]))
        #expect(Shard.coverWhole([.whole]))
        #expect(!Shard.coverWhole([Shard(index: 0, count: 2), Shard(index: 0, count: 2)]))
    }
}
