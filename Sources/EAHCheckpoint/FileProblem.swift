/// Problems common to every file: opening, mapping, reading past the end, writing outputs.
public enum FileProblem: CheckpointProblem, Equatable {
    case notFound
    case notReadable(errno: Int32)
    case isDirectoryWithoutCheckpoint
    /// A FIFO, socket or device where a file is read (reading it could block forever).
    case notRegularFile
    /// A read of `needed` bytes at `offset` runs past the end of `length` bytes (while reading `what`).
    case truncated(what: String, offset: Int, needed: Int, length: Int)
    case outputExists
    /// The output path exists and is a folder, link or special file: `--force` replaces files only.
    case outputNotAFile
    case cannotWrite(errno: Int32)
    case system(String)

    public var message: String {
        switch self {
        case .notFound: "no such file or directory"
        case .notReadable(let code): "cannot be read (\(Self.describe(errno: code)))"
        case .isDirectoryWithoutCheckpoint: "this folder holds no checkpoint (no *.safetensors, *.bin, *.pt, *.pth, *.gguf or index file)"
        case .notRegularFile: "is not a regular file (a FIFO, socket or device), so it is not read"
        case .truncated(let what, let offset, let needed, let length):
            "file is truncated: \(what) needs \(needed) bytes at offset \(offset) but the file has \(length) bytes"
        case .outputExists: "output already exists"
        case .outputNotAFile: "output exists and is not a regular file (a folder, link or special file), so --force does not replace it"
        case .cannotWrite(let code): "cannot be written (\(Self.describe(errno: code)))"
        case .system(let text): text
        }
    }

    public var fix: String? {
        switch self {
        case .notFound: "check the path"
        case .notReadable: "check the file's permissions"
        case .isDirectoryWithoutCheckpoint: "pass the checkpoint file or its index file"
        case .notRegularFile: "pass a regular file (copy the data into one first)"
        case .truncated: "download or copy the file again; it is incomplete"
        case .outputNotAFile: "choose another output path"
        case .outputExists: "pass --force to overwrite it, or choose another output path"
        case .cannotWrite(let code):
            switch code {
            case ENOSPC, EDQUOT: "the file system is full: free space on it, or write the output to another file system"
            case EROFS: "the file system is read-only: choose an output path on a writable one"
            case EACCES, EPERM: "check the folder's permissions, or choose another output path"
            case ENOENT, ENOTDIR: "check the output's folder exists"
            case EFBIG: "the file is larger than the file system or the file-size limit (ulimit -f) allows: write it elsewhere or raise the limit"
            default: "check the folder exists, is writable and has free space"
            }
        case .system: nil
        }
    }

    public var isUsageError: Bool { self == .outputExists || self == .outputNotAFile }

    static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}

import EAHCore
