/// A bounds-checked little-endian cursor over untrusted bytes.
///
/// Every read checks the remaining length first and throws `FileProblem.truncated` naming
/// what was being read, so parsers never touch memory outside the buffer.
public struct ByteReader {
    public let bytes: UnsafeRawBufferPointer
    /// The absolute offset of the next read.
    public var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Bytes left after the cursor.
    public var remaining: Int { bytes.count - offset }

    /// Throws unless `count` more bytes are available.
    public func require(_ count: Int, for what: String) throws(FileProblem) {
        guard count >= 0, count <= remaining else {
            throw .truncated(what: what, offset: offset, needed: count, length: bytes.count)
        }
    }

    public mutating func skip(_ count: Int, for what: String) throws(FileProblem) {
        try require(count, for: what)
        offset += count
    }

    /// Reads a fixed-width little-endian integer.
    public mutating func read<T: FixedWidthInteger>(_: T.Type, for what: String) throws(FileProblem) -> T {
        try require(MemoryLayout<T>.size, for: what)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    public mutating func readFloat(for what: String) throws(FileProblem) -> Float {
        Float(bitPattern: try read(UInt32.self, for: what))
    }

    public mutating func readDouble(for what: String) throws(FileProblem) -> Double {
        Double(bitPattern: try read(UInt64.self, for: what))
    }

    /// Returns the next `count` bytes without copying.
    public mutating func readBytes(_ count: Int, for what: String) throws(FileProblem) -> UnsafeRawBufferPointer {
        try require(count, for: what)
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + count])
        offset += count
        return slice
    }
}
