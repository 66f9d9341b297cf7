import EAHCore

/// A read-only memory map of a whole file.
///
/// Tensor bytes handed out by readers point into this map, so they are valid for as long as
/// the `MappedFile` lives. An empty file maps to an empty buffer. Call `discard(_:)` after
/// streaming through a range to drop its pages from the process' resident set.
public final class MappedFile: @unchecked Sendable {
    /// The path the file was opened from.
    public let path: String
    /// The file's bytes.
    public let bytes: UnsafeRawBufferPointer

    /// Maps `path` read-only.
    public init(path: String) throws(CheckpointError) {
        self.path = path
        // O_NONBLOCK: opening a FIFO (or a device) must not wait for a writer; it is refused below.
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            throw CheckpointError(path: path, problem: code == ENOENT ? FileProblem.notFound : FileProblem.notReadable(errno: code))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: EISDIR))
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(path: path, problem: FileProblem.notRegularFile)
        }
        let length = Int(status.st_size)
        if length == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: length)
    }

    /// Maps an open regular file (the caller keeps and closes `descriptor`); `path` names it in
    /// errors.
    init(descriptor: Int32, path: String) throws(CheckpointError) {
        self.path = path
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno)) }
        let length = Int(status.st_size)
        guard length > 0 else {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let base = mmap(nil, length, PROT_READ, MAP_PRIVATE, descriptor, 0), base != MAP_FAILED else {
            throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno))
        }
        bytes = UnsafeRawBufferPointer(start: base, count: length)
    }

    deinit {
        if let base = bytes.baseAddress {
            munmap(UnsafeMutableRawPointer(mutating: base), bytes.count)
        }
    }

    /// The file's length in bytes.
    public var count: Int { bytes.count }

    /// The bytes of `range`, which the caller has bounds-checked.
    public subscript(range: Range<Int>) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[range])
    }

    /// Tells the kernel the pages of `range` are no longer needed, so streaming through a large
    /// file does not grow the resident set. The bytes stay readable (they are paged in again).
    public func discard(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, range.upperBound)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    /// Advises the kernel that `range` will be read sequentially soon.
    public func willRead(_ range: Range<Int>) {
        guard let base = bytes.baseAddress, !range.isEmpty else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = range.lowerBound / page * page
        let end = min(bytes.count, range.upperBound)
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_WILLNEED))
    }
}
