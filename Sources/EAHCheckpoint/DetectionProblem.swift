/// Why a path could not be recognised as a checkpoint.
public enum DetectionProblem: CheckpointProblem, Equatable {
    case emptyFile
    /// A Git LFS pointer stands where the weights should be.
    case gitLFSPointer
    /// An HTML page (an error page, a "blob" link) stands where the weights should be.
    case htmlPage
    /// A pre-0.4 torch.save tar archive.
    case torchTarArchive
    /// The first bytes match no supported format; `prefix` is their hex dump.
    case unknownFormat(prefix: String)
    /// A folder holds several checkpoints and no index tells which belong together.
    case ambiguousDirectory(candidates: [String])

    public var message: String {
        switch self {
        case .emptyFile: "file is empty"
        case .gitLFSPointer: "this is a Git LFS pointer file, not the weights"
        case .htmlPage: "this is an HTML web page, not a checkpoint"
        case .torchTarArchive: "this is a pre-0.4 torch.save tar archive, which is not supported"
        case .unknownFormat(let prefix): "not a safetensors, GGUF or PyTorch checkpoint (starts with bytes \(prefix))"
        case .ambiguousDirectory(let candidates):
            "folder holds several checkpoints and no index file: \(candidates.prefix(6).joined(separator: ", "))\(candidates.count > 6 ? ", and \(candidates.count - 6) more" : "")"
        }
    }

    public var fix: String? {
        switch self {
        case .emptyFile: "download or copy the file again"
        case .gitLFSPointer: "fetch the real file with `git lfs pull` (or `huggingface-cli download`)"
        case .htmlPage: "download the raw file (a Hugging Face `/resolve/` URL, not `/blob/`)"
        case .torchTarArchive: "load it with torch and save it again with torch.save, or as safetensors"
        case .unknownFormat: "pass a .safetensors, .gguf, .bin/.pt/.pth file or an index .json"
        case .ambiguousDirectory: "pass one of the files, or its *.index.json"
        }
    }
}
