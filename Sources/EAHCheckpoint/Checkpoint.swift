import EAHCore

/// Opens any supported checkpoint from a file, a model folder or an index file.
///
/// The format is taken from the file's bytes, never its extension. A folder is resolved to its
/// index file (`*.safetensors.index.json`, `*.bin.index.json`) or to its single checkpoint file;
/// an index opens every shard it names.
public enum Checkpoint {
    /// Opens the checkpoint at `path`.
    public static func open(_ path: String) throws(CheckpointError) -> any CheckpointReader {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let code = errno
            throw CheckpointError(path: path, problem: code == ENOENT ? FileProblem.notFound : FileProblem.notReadable(errno: code))
        }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            return try open(try resolveDirectory(path))
        }
        let file = try MappedFile(path: path)
        return try open(file)
    }

    /// Opens an already mapped file, dispatching on its leading bytes.
    public static func open(_ file: MappedFile) throws(CheckpointError) -> any CheckpointReader {
        switch try detect(file) {
        case .safetensors: return try SafetensorsReader(file: file)
        case .gguf: return try GGUFReader(file: file)
        case .pytorch, .pytorchLegacy: return try PyTorchReader(file: file)
        case nil:
            return try ShardedCheckpoint(indexPath: file.path) { shard throws(CheckpointError) in
                // A shard is a checkpoint file: an index naming an index (itself, or two naming
                // each other) would recurse forever.
                let shardFile = try MappedFile(path: shard)
                guard try detect(shardFile) != nil else {
                    throw CheckpointError(path: file.path, problem: ShardIndexProblem.shardIsIndex(shard: String(shard.split(separator: "/").last ?? "")))
                }
                return try open(shardFile)
            }
        }
    }

    /// The format of `file` from its first bytes; nil for a JSON index file.
    public static func detect(_ file: MappedFile) throws(CheckpointError) -> CheckpointFormat? {
        let bytes = file.bytes
        func fail(_ problem: DetectionProblem) -> CheckpointError {
            CheckpointError(path: file.path, problem: problem)
        }
        guard bytes.count > 0 else { throw fail(.emptyFile) }
        func starts(with prefix: [UInt8], at offset: Int = 0) -> Bool {
            guard bytes.count >= offset + prefix.count else { return false }
            return prefix.indices.allSatisfy { bytes[offset + $0] == prefix[$0] }
        }
        if starts(with: Array("GGUF".utf8)) { return .gguf }
        if starts(with: [0x50, 0x4b, 0x03, 0x04]) || starts(with: [0x50, 0x4b, 0x05, 0x06]) || starts(with: Array("PYTORCH1".utf8)) {
            return .pytorch
        }
        if starts(with: legacyTorchMagic) { return .pytorchLegacy }
        if starts(with: Array("ustar".utf8), at: 257) { throw fail(.torchTarArchive) }
        if starts(with: Array("version https://git-lfs.github.com/spec/".utf8)) { throw fail(.gitLFSPointer) }
        let text = leadingText(bytes)
        if text.hasPrefix("<!doctype html") || text.hasPrefix("<html") || text.hasPrefix("<?xml") || text.hasPrefix("<head") {
            throw fail(.htmlPage)
        }
        if text.hasPrefix("{") { return nil }
        if bytes.count >= 9 {
            // safetensors: u64 header length, then a JSON object (JSON whitespace may lead).
            let first = bytes[8]
            if first == UInt8(ascii: "{") || first == 0x20 || first == 0x09 || first == 0x0a || first == 0x0d {
                return .safetensors
            }
        }
        throw fail(.unknownFormat(prefix: bytes.prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: " ")))
    }

    /// The pickle of torch's legacy MAGIC_NUMBER (protocol 2) that starts a pre-1.6 file.
    static let legacyTorchMagic: [UInt8] = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19]

    /// The first bytes as lowercased ASCII without leading whitespace (for sniffing text files).
    private static func leadingText(_ bytes: UnsafeRawBufferPointer) -> String {
        var scalars = String.UnicodeScalarView()
        var started = false
        for byte in bytes.prefix(64) {
            if !started, byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d || byte == 0xef || byte == 0xbb || byte == 0xbf { continue }
            started = true
            guard byte < 0x80 else { break }
            scalars.append(Unicode.Scalar(byte))
        }
        return String(scalars).lowercased()
    }

    /// The file a model folder stands for: its index, or its only checkpoint file.
    static func resolveDirectory(_ path: String) throws(CheckpointError) -> String {
        guard let folder = opendir(path) else {
            throw CheckpointError(path: path, problem: FileProblem.notReadable(errno: errno))
        }
        var names: [String] = []
        while let entry = readdir(folder) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix(".") { names.append(name) }
        }
        closedir(folder)
        names.sort()
        let prefix = path.hasSuffix("/") ? path : path + "/"
        for preferred in ["model.safetensors.index.json", "pytorch_model.bin.index.json"] where names.contains(preferred) {
            return prefix + preferred
        }
        let indexes = names.filter { $0.hasSuffix(".safetensors.index.json") || $0.hasSuffix(".bin.index.json") || $0.hasSuffix(".pt.index.json") }
        if indexes.count == 1 { return prefix + indexes[0] }
        if indexes.count > 1 { throw CheckpointError(path: path, problem: DetectionProblem.ambiguousDirectory(candidates: indexes)) }
        for preferred in ["model.safetensors", "pytorch_model.bin"] where names.contains(preferred) {
            return prefix + preferred
        }
        let candidates = names.filter { name in
            [".safetensors", ".bin", ".pt", ".pth", ".gguf"].contains { name.hasSuffix($0) }
        }
        if candidates.count == 1 { return prefix + candidates[0] }
        if candidates.isEmpty { throw CheckpointError(path: path, problem: FileProblem.isDirectoryWithoutCheckpoint) }
        throw CheckpointError(path: path, problem: DetectionProblem.ambiguousDirectory(candidates: candidates))
    }
}
