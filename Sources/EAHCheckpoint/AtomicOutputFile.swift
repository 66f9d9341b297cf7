import EAHCore

/// An output file written under a temporary name in the destination folder and renamed into
/// place by `commit()`.
///
/// Until `commit()` succeeds the destination is untouched; dropping the value without
/// committing, a thrown error, or SIGINT/SIGTERM (see `OutputCleanup`) removes the temporary
/// file. An existing destination is refused unless `overwrite` is true, and always when it is
/// not a regular file. Small writes are
/// buffered; large ones go straight to the file.
public final class AtomicOutputFile {
    public let path: String
    public let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private let bufferLimit = 1 << 20
    private var committed = false
    /// Bytes written so far (the current end of the file).
    public private(set) var offset: Int = 0

    public init(path: String, overwrite: Bool) throws(CheckpointError) {
        self.path = path
        var status = stat()
        if lstat(path, &status) == 0 {
            guard overwrite else { throw CheckpointError(path: path, problem: FileProblem.outputExists) }
            // --force replaces a file, never a folder (and what is in it) or a link's target.
            guard (status.st_mode & S_IFMT) == S_IFREG else { throw CheckpointError(path: path, problem: FileProblem.outputNotAFile) }
        }
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        var suffix = UInt64.random(in: 0...UInt64.max)
        var created: Int32 = -1
        var temporary = ""
        for _ in 0..<16 {
            temporary = "\(folder.isEmpty ? "" : folder)/.\(base).partial-\(String(suffix, radix: 36))"
            // Registered before it exists: a signal between creating and registering would
            // leave it behind (any thread may take the signal).
            OutputCleanup.register(temporary)
            created = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if created >= 0 { break }
            let code = errno
            OutputCleanup.unregister(temporary)
            errno = code
            if code != EEXIST { break }
            suffix &+= 1
        }
        guard created >= 0 else {
            throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: errno))
        }
        descriptor = created
        temporaryPath = temporary
        buffer.reserveCapacity(bufferLimit)
    }

    deinit {
        if !committed { abandon() }
    }

    /// Appends `bytes`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        if buffer.count + bytes.count <= bufferLimit {
            buffer.append(contentsOf: bytes)
        } else {
            try flush()
            if bytes.count < bufferLimit { buffer.append(contentsOf: bytes) } else { try writeAll(bytes) }
        }
        offset += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws(CheckpointError) {
        let result: Result<Void, CheckpointError> = bytes.withUnsafeBytes { raw in
            do throws(CheckpointError) { try write(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// Appends `count` zero bytes (alignment padding).
    public func writeZeros(_ count: Int) throws(CheckpointError) {
        guard count > 0 else { return }
        try write([UInt8](repeating: 0, count: count))
    }

    /// Writes any buffered bytes and renames the file into place.
    public func commit() throws(CheckpointError) {
        try flush()
        guard close(descriptor) == 0 else {
            let code = errno
            abandon()
            throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: code))
        }
        descriptor = -1
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            abandon()
            throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: code))
        }
        committed = true
        OutputCleanup.unregister(temporaryPath)
    }

    /// Closes and deletes the temporary file; the destination is untouched.
    public func abandon() {
        if descriptor >= 0 { close(descriptor); descriptor = -1 }
        unlink(temporaryPath)
        OutputCleanup.unregister(temporaryPath)
        committed = true
    }

    private func flush() throws(CheckpointError) {
        guard !buffer.isEmpty else { return }
        let pending = buffer
        buffer.removeAll(keepingCapacity: true)
        let result: Result<Void, CheckpointError> = pending.withUnsafeBytes { raw in
            do throws(CheckpointError) { try writeAll(raw); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws(CheckpointError) {
        guard var cursor = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            let written = systemWrite(descriptor, cursor, left)
            if written < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: errno))
            }
            cursor += written
            left -= written
        }
    }
}
