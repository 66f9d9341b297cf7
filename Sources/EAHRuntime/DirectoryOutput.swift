import EAHCheckpoint
import EAHCore

/// An output directory built under a temporary name beside its destination and renamed into
/// place by `commit()`; `abandon()`, a thrown error before commit, or SIGINT/SIGTERM/SIGHUP
/// (the folder is registered with `OutputCleanup`) removes it.
///
/// With `overwrite`, an existing destination is replaced only when this tool wrote it: a
/// folder holding a bundle's `manifest.pb` or the `marker` file every output folder gets, or an
/// empty folder. Anything else (a file, a folder of other things) is refused, since replacing
/// it would delete what is inside. The replacement is an atomic exchange where the file system
/// supports it, so the destination is never missing.
final class DirectoryOutput {
    /// The hidden file marking a folder this tool wrote.
    static let marker = ".eah-output"

    let path: String
    let temporaryPath: String
    private let overwrite: Bool
    private var done = false

    /// What an output folder is, written into its `marker` file.
    enum Kind: String {
        /// An EAH bundle: without its `manifest.pb` it is damaged, not a model folder.
        case bundle
        /// A plain model folder (`unpatch`).
        case modelFolder = "model-folder"
    }

    /// The kind of output folder `path` is by its marker, if it has one.
    static func kind(of path: String) -> Kind? {
        guard let file = try? MappedFile(path: path + "/" + marker) else { return nil }
        return withExtendedLifetime(file) { Kind(rawValue: String(decoding: file.bytes, as: UTF8.self).trimmingSuffix()) }
    }

    init(path: String, overwrite: Bool, kind: Kind) throws(CheckpointError) {
        let trimmed = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        self.path = trimmed
        self.overwrite = overwrite
        if access(trimmed, F_OK) == 0 {
            guard overwrite else { throw CheckpointError(path: trimmed, problem: FileProblem.outputExists) }
            guard Self.isReplaceable(trimmed) else { throw CheckpointError(path: trimmed, problem: BundleProblem.notOurOutput) }
        }
        temporaryPath = try Self.makeTemporaryFolder(beside: trimmed, shownAs: trimmed)
        let marker = temporaryPath + "/" + Self.marker
        let descriptor = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            let code = errno
            abandon()
            throw CheckpointError(path: trimmed, problem: FileProblem.cannotWrite(errno: code))
        }
        let text = Array((kind.rawValue + "\n").utf8)
        let written = text.withUnsafeBytes { systemWrite(descriptor, $0.baseAddress, $0.count) }
        let code = written < 0 ? errno : written < text.count ? ENOSPC : 0
        let closed = close(descriptor) == 0 ? 0 : errno
        guard code == 0, closed == 0 else {
            abandon()
            throw CheckpointError(path: trimmed, problem: FileProblem.cannotWrite(errno: code != 0 ? code : closed))
        }
    }

    /// Whether `path` is a folder this tool wrote (or an empty one), which `--force` may replace.
    static func isReplaceable(_ path: String) -> Bool {
        var status = stat()
        guard lstat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR else { return false }
        if access(path + "/" + marker, F_OK) == 0 || access(path + "/" + BundleLayout.manifest, F_OK) == 0 { return true }
        guard let directory = opendir(path) else { return false }
        defer { closedir(directory) }
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != ".", name != ".." { return false }
        }
        return true
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
            guard Self.isReplaceable(path) else { abandon(); throw CheckpointError(path: path, problem: BundleProblem.notOurOutput) }
            // The old folder takes the temporary name (still registered for cleanup).
            if OutputCleanup.exchange(temporaryPath, path) {
                done = true
                abandon()
                return
            }
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
        OutputCleanup.unregister(temporaryPath)
        PartialOutputFolders.unregister(temporaryPath)
        if let displaced { OutputCleanup.removeTree(displaced) }
    }

    func abandon() {
        done = true
        Self.removeTemporaryFolder(temporaryPath)
    }

    /// Makes a hidden folder `.NAME.partial-*` beside `output`, removed on SIGINT/SIGTERM/SIGHUP
    /// until `removeTemporaryFolder` (registered before it exists: no signal can fall between);
    /// errors about files inside it name `shownAs` in its place.
    static func makeTemporaryFolder(beside output: String, shownAs: String) throws(CheckpointError) -> String {
        let slash = output.lastIndex(of: "/")
        let folder = slash.map { String(output[..<$0]) } ?? "."
        let base = slash.map { String(output[output.index(after: $0)...]) } ?? output
        var suffix = UInt64.random(in: 0...UInt64.max)
        for _ in 0..<16 {
            let candidate = (folder.isEmpty ? "" : folder) + "/." + base + ".partial-" + String(suffix, radix: 36)
            OutputCleanup.registerFolder(candidate)
            PartialOutputFolders.register(candidate, destination: shownAs)
            if mkdir(candidate, 0o755) == 0 { return candidate }
            let code = errno
            OutputCleanup.unregister(candidate)
            PartialOutputFolders.unregister(candidate)
            guard code == EEXIST else { throw CheckpointError(path: output, problem: FileProblem.cannotWrite(errno: code)) }
            suffix &+= 1
        }
        throw CheckpointError(path: output, problem: FileProblem.cannotWrite(errno: EEXIST))
    }

    /// Removes a folder made by `makeTemporaryFolder` with everything inside, and its registrations.
    static func removeTemporaryFolder(_ path: String) {
        OutputCleanup.removeTree(path)
        OutputCleanup.unregister(path)
        PartialOutputFolders.unregister(path)
    }

    /// Copies a small file into the directory.
    func copy(_ source: String, as name: String) throws(CheckpointError) {
        let file = try MappedFile(path: source)
        let output = try AtomicOutputFile(path: self.file(name), overwrite: false)
        try withExtendedLifetime(file) { () throws(CheckpointError) in try output.write(file.bytes) }
        try output.commit()
    }
}

private extension String {
    func trimmingSuffix() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
