import EAHCheckpoint
#if canImport(Glibc)
import Glibc
#endif

/// An output directory built under a temporary name beside its destination and renamed into
/// place by `commit()`; `abandon()` (or a thrown error before commit) removes it.
final class DirectoryOutput {
    let path: String
    let temporaryPath: String
    private let overwrite: Bool
    private var done = false

    init(path: String, overwrite: Bool) throws(CheckpointError) {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        self.path = trimmed
        self.overwrite = overwrite
        if !overwrite, access(trimmed, F_OK) == 0 {
            throw CheckpointError(path: trimmed, problem: FileProblem.outputExists)
        }
        let slash = trimmed.lastIndex(of: "/")
        let folder = slash.map { String(trimmed[..<$0]) } ?? "."
        let base = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
        temporaryPath = (folder.isEmpty ? "" : folder) + "/." + base + ".partial-" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        guard mkdir(temporaryPath, 0o755) == 0 else {
            throw CheckpointError(path: trimmed, problem: FileProblem.cannotWrite(errno: errno))
        }
    }

    deinit {
        if !done { abandon() }
    }

    /// The path of `name` inside the directory being built.
    func file(_ name: String) -> String { temporaryPath + "/" + name }

    /// Creates a sub-folder.
    func makeFolder(_ name: String) throws(CheckpointError) {
        guard mkdir(file(name), 0o755) == 0 else { throw CheckpointError(path: file(name), problem: FileProblem.cannotWrite(errno: errno)) }
    }

    /// Renames the directory into place, replacing an existing one when allowed.
    func commit() throws(CheckpointError) {
        var displaced: String?
        if access(path, F_OK) == 0 {
            guard overwrite else { abandon(); throw CheckpointError(path: path, problem: FileProblem.outputExists) }
            let aside = temporaryPath + ".old"
            guard rename(path, aside) == 0 else { abandon(); throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: errno)) }
            displaced = aside
        }
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            if let displaced { rename(displaced, path) }
            abandon()
            throw CheckpointError(path: path, problem: FileProblem.cannotWrite(errno: code))
        }
        done = true
        if let displaced { Self.removeTree(displaced) }
    }

    func abandon() {
        done = true
        Self.removeTree(temporaryPath)
    }

    /// Copies a small file into the directory.
    func copy(_ source: String, as name: String) throws(CheckpointError) {
        let file = try MappedFile(path: source)
        let output = try AtomicOutputFile(path: self.file(name), overwrite: false)
        try withExtendedLifetime(file) { () throws(CheckpointError) in try output.write(file.bytes) }
        try output.commit()
    }

    /// `rm -rf` without following symbolic links.
    static func removeTree(_ path: String) {
        var status = stat()
        guard lstat(path, &status) == 0 else { return }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != ".", name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
