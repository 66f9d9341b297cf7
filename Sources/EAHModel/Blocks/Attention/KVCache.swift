/// Keys (after RoPE) and values of every decoder layer for the positions computed so far.
///
/// Storage per layer is `capacity × kvWidth` floats for keys and the same for values, where
/// `kvWidth = kvHeadCount · headDim`; it grows by doubling when a pass needs more.
public final class KVCache {
    public let layerCount: Int
    public let kvWidth: Int
    public private(set) var capacity: Int
    /// Positions stored.
    public private(set) var count = 0
    private var keys: [UnsafeMutablePointer<Float>]
    private var values: [UnsafeMutablePointer<Float>]

    public init(layerCount: Int, kvWidth: Int, capacity: Int) {
        self.layerCount = layerCount
        self.kvWidth = kvWidth
        self.capacity = max(1, capacity)
        keys = (0..<layerCount).map { _ in .allocate(capacity: max(1, capacity) * kvWidth) }
        values = (0..<layerCount).map { _ in .allocate(capacity: max(1, capacity) * kvWidth) }
    }

    deinit {
        keys.forEach { $0.deallocate() }
        values.forEach { $0.deallocate() }
    }

    /// Makes room for `additional` more positions.
    public func reserve(_ additional: Int) {
        let needed = count + additional
        guard needed > capacity else { return }
        var grown = capacity
        while grown < needed { grown *= 2 }
        for layer in 0..<layerCount {
            for storage in [\KVCache.keys, \KVCache.values] {
                let old = self[keyPath: storage][layer]
                let new = UnsafeMutablePointer<Float>.allocate(capacity: grown * kvWidth)
                new.update(from: old, count: count * kvWidth)
                old.deallocate()
                self[keyPath: storage][layer] = new
            }
        }
        capacity = grown
    }

    /// Keys of `layer`, `capacity × kvWidth`; rows `0..<count` are valid.
    public func keys(_ layer: Int) -> UnsafeMutablePointer<Float> { keys[layer] }

    /// Values of `layer`, laid out as `keys`.
    public func values(_ layer: Int) -> UnsafeMutablePointer<Float> { values[layer] }

    /// Marks `positions` more rows as valid (after every layer wrote them).
    public func advance(by positions: Int) {
        precondition(count + positions <= capacity, "reserve before advancing")
        count += positions
    }

    /// Forgets every position.
    public func reset() { count = 0 }

    /// Forgets the positions from `positions` on (a conversation that diverges there).
    public func truncate(to positions: Int) { count = min(count, max(0, positions)) }
}
