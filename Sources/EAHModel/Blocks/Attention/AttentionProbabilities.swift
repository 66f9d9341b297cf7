/// One layer's post-softmax attention probabilities, every head, writable in place.
///
/// Layout: head-major, then query rows, then key columns, densely:
/// `[head][query][key]`. Query row `q` is absolute position `context.queryStart + q`; key
/// column `k` is absolute position `k`. Causally masked entries are 0.
public struct AttentionProbabilities: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let headCount: Int
    public let queryCount: Int
    public let keyCount: Int

    public init(base: UnsafeMutablePointer<Float>, headCount: Int, queryCount: Int, keyCount: Int) {
        self.base = base
        self.headCount = headCount
        self.queryCount = queryCount
        self.keyCount = keyCount
    }

    /// The `queryCount × keyCount` matrix of `head`.
    public func head(_ head: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: base + head * queryCount * keyCount, count: queryCount * keyCount)
    }

    /// The probability that query row `query` of `head` gives key column `key`.
    public subscript(head: Int, query: Int, key: Int) -> Float {
        get { base[(head * queryCount + query) * keyCount + key] }
        nonmutating set { base[(head * queryCount + query) * keyCount + key] = newValue }
    }
}
