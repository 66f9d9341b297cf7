/// A stable heap buffer a `WeightMatrix` can point into, for weights that cannot stay in the
/// mapped file (GGUF Q/K rows after un-permuting, tensors a reader had to materialise).
final class OwnedBytes: @unchecked Sendable {
    let buffer: UnsafeMutableRawBufferPointer

    init(count: Int) {
        buffer = .allocate(byteCount: max(count, 1), alignment: 64)
    }

    deinit {
        buffer.deallocate()
    }

    /// The first `count` bytes, read-only.
    func bytes(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: buffer[0..<count])
    }
}
