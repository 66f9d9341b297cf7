/// A binary max-heap: `pop` returns the greatest element by `<`.
///
/// The BPE mergers define `<` so that the greatest element is the merge to apply next.
struct PriorityQueue<Element: Comparable> {
    private var storage: [Element] = []

    init(capacity: Int = 0) { storage.reserveCapacity(capacity) }

    var isEmpty: Bool { storage.isEmpty }

    mutating func push(_ element: Element) {
        storage.append(element)
        var child = storage.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard storage[parent] < storage[child] else { break }
            storage.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> Element? {
        guard let last = storage.popLast() else { return nil }
        guard !storage.isEmpty else { return last }
        let top = storage[0]
        storage[0] = last
        var parent = 0
        let count = storage.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var largest = left
            if left + 1 < count, storage[left] < storage[left + 1] { largest = left + 1 }
            guard storage[parent] < storage[largest] else { break }
            storage.swapAt(parent, largest)
            parent = largest
        }
        return top
    }
}
