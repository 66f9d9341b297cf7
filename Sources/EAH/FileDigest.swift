import Crypto
import EAHCheckpoint

/// SHA-256 digests as the manifest writes them: 64 lowercase hexadecimal characters.
///
/// Files are memory-mapped and hashed in 8 MiB windows: the next window is advised
/// (`MADV_WILLNEED`) and each hashed one dropped (`MADV_DONTNEED`), so the resident set stays
/// flat. Hashing is swift-crypto's, i.e. BoringSSL's SHA-NI code on x86-64: ~1.2 GB/s on one
/// core here for a cached 1 GiB file, as fast as hashing a buffer (8 MiB `read(2)`s measured
/// ~15 % slower; coreutils `sha256sum` 0.25 GB/s). Like every `MappedFile` reader, a file
/// truncated by another process while it is hashed raises SIGBUS.
public enum FileDigest {
    /// The window hashed at a time (bytes).
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
    /// relative to its bundle or source folder): its SHA-256 and size.
    public static func checksum(path: String, as name: String) throws(CheckpointError) -> EAHManifest.FileChecksum {
        let file = try MappedFile(path: path)
        var hasher = SHA256()
        var offset = 0
        while offset < file.count {
            let end = min(file.count, offset + chunkSize)
            file.willRead(end..<min(file.count, end + chunkSize))
            hasher.update(bufferPointer: file[offset..<end])
            file.discard(offset..<end)
            offset = end
        }
        return EAHManifest.FileChecksum(path: name, sha256: hex(hasher.finalize()), size: file.count)
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

/// The identity of a model's weights for reports: SHA-256 of the lines `NAME SHA256\n` of its
/// weight files (file names without folders, sorted), so a copy of a model in another folder has
/// the same digest and any changed byte of any weight file gives another one.
public enum ModelDigest {
    /// The digest of the files that hold the tensors of `readers` (shards, vision tower, mmproj).
    public static func sha256(of readers: [any CheckpointReader]) throws(CheckpointError) -> String {
        let files = Set(readers.flatMap { $0.tensors.map(\.file) })
        var lines: [String] = []
        for path in files {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            lines.append(name + " " + (try FileDigest.sha256(path: path)) + "\n")
        }
        return FileDigest.sha256(Array(lines.sorted().joined().utf8))
    }
}
