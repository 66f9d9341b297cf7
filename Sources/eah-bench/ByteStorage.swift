/// An owned byte buffer a benchmark `WeightMatrix` points into.
final class ByteStorage {
    let bytes: UnsafeMutableRawBufferPointer

    init(count: Int) {
        bytes = .allocate(byteCount: count, alignment: 64)
    }

    deinit {
        bytes.deallocate()
    }
}
