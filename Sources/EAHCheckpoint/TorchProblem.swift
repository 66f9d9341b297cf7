/// What is structurally wrong with a PyTorch checkpoint (zip or legacy), beyond the zip
/// container (`ZipProblem`) and the pickle (`PickleProblem`).
public enum TorchProblem: CheckpointProblem, Equatable {
    /// Neither a zip, a legacy torch pickle nor another known torch layout.
    case notPyTorch
    /// The 2018 `PYTORCH1` preview format.
    case previewFormat
    /// The pre-0.4 tar layout.
    case tarFormat
    /// A `torch.jit.save` archive (has `constants.pkl`), not a checkpoint.
    case torchScriptArchive
    /// The first entry has no `archive/` folder.
    case noArchivePrefix(String)
    /// An entry outside the archive folder named by the first entry.
    case mixedArchivePrefixes(String)
    case missingRecord(String)
    case unsupportedVersion(String)
    case invalidByteOrder(String)
    /// A tensor's storage key has no `data/<key>` record (or, legacy, no raw storage).
    case missingStorage(key: String)
    case unknownStorageType(String)
    case unsupportedDType(String)
    /// One storage used with two element types.
    case storageTypeConflict(key: String)
    /// The `data/<key>` record does not hold numel × element size bytes.
    case recordSizeMismatch(key: String, expected: Int, actual: Int)
    /// Sizes/strides of different rank, negative values or an overflowing element count.
    case invalidView(tensor: String, detail: String)
    /// `offset + Σ (size−1)·stride` reaches past the storage.
    case viewOutOfBounds(tensor: String)
    /// A strided view (e.g. a stride-0 expand) whose dense copy would be absurdly larger than
    /// its storage: more than 64 × the storage and more than 1 GiB.
    case viewTooLarge(tensor: String, bytes: Int)
    case noStateDict
    case duplicateTensor(String)
    case badLegacyMagic
    case badLegacyProtocol
    case badLegacySystemInfo
    /// The raw section's element count for a storage differs from the pickle's numel.
    case legacyStorageSizeMismatch(key: String, expected: Int, actual: Int)
    /// `bytes(of:)` got a tensor this reader did not produce.
    case unknownTensor(String)

    public var message: String {
        switch self {
        case .notPyTorch: "not a PyTorch checkpoint (neither a zip archive nor a legacy torch pickle)"
        case .previewFormat: "this is the 2018 PYTORCH1 preview format, which is not supported"
        case .tarFormat: "this is the pre-0.4 tar checkpoint layout, which is not supported"
        case .torchScriptArchive: "this is a TorchScript archive (torch.jit.save), not a checkpoint"
        case .noArchivePrefix(let name): "zip entry \"\(name)\" is not inside an archive folder"
        case .mixedArchivePrefixes(let name): "zip entry \"\(name)\" is outside the archive folder"
        case .missingRecord(let name): "the archive has no \(name) record"
        case .unsupportedVersion(let text): "unsupported archive version \"\(text)\" (expected 1 to 10)"
        case .invalidByteOrder(let text): "invalid byteorder record \"\(text)\" (expected little or big)"
        case .missingStorage(let key): "storage \"\(key)\" has no data record"
        case .unknownStorageType(let name): "unknown or unsupported storage type \(name)"
        case .unsupportedDType(let name): "unsupported tensor dtype torch.\(name)"
        case .storageTypeConflict(let key): "storage \"\(key)\" is used with two different element types"
        case .recordSizeMismatch(let key, let expected, let actual):
            "storage \"\(key)\" should hold \(expected) bytes but its record has \(actual)"
        case .invalidView(let tensor, let detail): "tensor \"\(tensor)\" has an invalid shape or stride: \(detail)"
        case .viewOutOfBounds(let tensor): "tensor \"\(tensor)\" reads past the end of its storage"
        case .viewTooLarge(let tensor, let bytes):
            "tensor \"\(tensor)\" is a view whose dense copy would take \(bytes) bytes, far more than its storage"
        case .noStateDict: "no state dict (a dict of tensors) found in the checkpoint"
        case .duplicateTensor(let name): "tensor name \"\(name)\" appears twice"
        case .badLegacyMagic: "invalid legacy torch magic number"
        case .badLegacyProtocol: "unsupported legacy torch protocol version (expected 1001)"
        case .badLegacySystemInfo: "invalid legacy torch system info"
        case .legacyStorageSizeMismatch(let key, let expected, let actual):
            "storage \"\(key)\" should hold \(expected) elements but the file stores \(actual)"
        case .unknownTensor(let name): "tensor \"\(name)\" does not belong to this checkpoint"
        }
    }

    public var fix: String? {
        switch self {
        case .torchScriptArchive: "export the weights with torch.save(model.state_dict(), path)"
        case .previewFormat, .tarFormat, .unsupportedVersion:
            "load it with an old torch and re-save it with torch.save(state_dict, path)"
        case .noStateDict: "save the checkpoint with torch.save(model.state_dict(), path)"
        default: nil
        }
    }
}
