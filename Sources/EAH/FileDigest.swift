import Crypto
import EAHCheckpoint
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// SHA-256 digests as the manifest writes them: 64 lowercase hexadecimal characters.
///
/// Files are streamed through an 8 MiB buffer with `read(2)` (so memory stays flat and a file
/// shrinking under the reader is an error, not a SIGBUS); hashing is swift-crypto's, i.e.
/// BoringSSL's SHA-NI/AVX2 code on x86-64.
public enum FileDigest {
    /// The read size.
    public static let chunkSize = 8 << 20

    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: UnsafeRawBufferPointer) -> String {
        hex(SHA256.hash(data: bytes))
    }

    /// SHA-256 of `bytes`.
    public static func sha256(_ bytes: [UInt8]) -> String {
        bytes.withUnsafeBytes { sha256($0) }
    }

    /// SHA-256 of the file at `path`.
    public static func sha256(path: String) throws(CheckpointError) -> String {
        try checksum(path: path, as: path).sha256
    }

    /// The manifest entry of the file at `path`, recorded under the name `name` (the path
    /// relative to its bundle or source folder): its SHA-256 and the bytes actually read.
    public static func checksum(path: String, as name: String) throws(CheckpointError) -> EAHManifest.FileChecksum {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            throw CheckpointError(path: path, problem: code == ENOENT ? FileProblem.notFound : FileProblem.notReadable(errno: code))
        }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno)) }
        if (status.st_mode & S_IFMT) == S_IFDIR { throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: EISDIR)) }
        _ = posix_fadvise(descriptor, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))

        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 64)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var total = 0
        while true {
            let count = Glibc.read(descriptor, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno))
            }
            if count == 0 { break }
            hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += count
        }
        return EAHManifest.FileChecksum(path: name, sha256: hex(hasher.finalize()), size: total)
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in digest {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
