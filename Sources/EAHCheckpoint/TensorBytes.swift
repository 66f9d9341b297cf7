/// The dense bytes of one tensor: a zero-copy window into a mapped file, or an owned buffer when
/// the tensor had to be materialised (a strided view, a deflated zip entry, a byte swap).
public struct TensorBytes: @unchecked Sendable {
    private enum Backing {
        case mapped(MappedFile, Range<Int>)
        case owned([UInt8])
    }

    private let backing: Backing

    /// Bytes inside a mapped file; `range` must already be bounds-checked.
    public init(file: MappedFile, range: Range<Int>) {
        backing = .mapped(file, range)
    }

    /// Bytes owned by this value.
    public init(owned bytes: [UInt8]) {
        backing = .owned(bytes)
    }

    public var count: Int {
        switch backing {
        case .mapped(_, let range): range.count
        case .owned(let bytes): bytes.count
        }
    }

    /// Whether the bytes are read straight from the file's map.
    public var isZeroCopy: Bool {
        if case .mapped = backing { return true }
        return false
    }

    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        switch backing {
        case .mapped(let file, let range):
            return try body(file[range])
        case .owned(let bytes):
            // withUnsafeBytes is rethrows-untyped; route the typed error through a Result.
            let result: Result<R, E> = bytes.withUnsafeBytes { buffer in
                do throws(E) { return .success(try body(buffer)) } catch { return .failure(error) }
            }
            return try result.get()
        }
    }

    /// Drops the pages of a mapped window from the resident set (see `MappedFile.discard`).
    public func discard() {
        discard(0..<count)
    }

    /// Drops the pages behind `range` (relative to these bytes) from the resident set.
    public func discard(_ range: Range<Int>) {
        if case .mapped(let file, let window) = backing {
            file.discard((window.lowerBound + range.lowerBound)..<(window.lowerBound + range.upperBound))
        }
    }

    /// Copies the bytes into an array.
    public var array: [UInt8] {
        withUnsafeBytes { Array($0) }
    }
}
