/// What is wrong with a zip archive (the container of `torch.save` checkpoints).
public enum ZipProblem: CheckpointProblem, Equatable {
    /// No end-of-central-directory record in the last 64 KiB + 22 bytes.
    case endOfCentralDirectoryNotFound
    /// The archive claims to span several disks.
    case multiDiskArchive
    /// A zip64 locator, record or extra field is malformed or inconsistent.
    case invalidZip64(String)
    /// The central directory lies outside the file or overlaps the end records.
    case centralDirectoryOutOfBounds
    /// Central directory entry `index` is malformed (bad signature or truncated).
    case badCentralDirectoryEntry(index: Int)
    /// The end record's entry count differs from the central directory.
    case entryCountMismatch(declared: Int, found: Int)
    /// An entry name that is empty, not UTF-8 or contains NUL.
    case invalidEntryName(String)
    /// An entry name with a `..` component or a leading `/` or `\`.
    case unsafeEntryName(String)
    case duplicateEntry(String)
    case encryptedEntry(String)
    /// A compression method other than STORED (0) or DEFLATE (8).
    case unsupportedMethod(name: String, method: Int)
    /// The local header disagrees with the central directory.
    case localHeaderMismatch(String)
    /// The entry's header or data runs outside the file or into the central directory.
    case entryOutsideFile(String)
    case overlappingEntries(String, String)
    /// A STORED entry whose compressed and uncompressed sizes differ.
    case storedSizeMismatch(String)
    case crcMismatch(name: String, expected: UInt32, actual: UInt32)
    /// zlib could not inflate the entry or produced a different size.
    case inflateFailed(name: String, detail: String)

    public var message: String {
        switch self {
        case .endOfCentralDirectoryNotFound: "not a readable zip archive: no end-of-central-directory record (the file is truncated or not a zip)"
        case .multiDiskArchive: "multi-disk zip archives are not supported"
        case .invalidZip64(let detail): "invalid zip64 structure: \(detail)"
        case .centralDirectoryOutOfBounds: "the zip central directory lies outside the file"
        case .badCentralDirectoryEntry(let index): "zip central directory entry #\(index) is malformed"
        case .entryCountMismatch(let declared, let found): "the zip end record declares \(declared) entries but the central directory holds \(found)"
        case .invalidEntryName(let name): "invalid zip entry name \"\(name)\""
        case .unsafeEntryName(let name): "unsafe zip entry name \"\(name)\" (absolute or containing \"..\")"
        case .duplicateEntry(let name): "zip entry \"\(name)\" appears twice"
        case .encryptedEntry(let name): "zip entry \"\(name)\" is encrypted"
        case .unsupportedMethod(let name, let method): "zip entry \"\(name)\" uses unsupported compression method \(method)"
        case .localHeaderMismatch(let name): "the local header of zip entry \"\(name)\" disagrees with the central directory"
        case .entryOutsideFile(let name): "zip entry \"\(name)\" lies outside the file's data area"
        case .overlappingEntries(let first, let second): "zip entries \"\(first)\" and \"\(second)\" overlap"
        case .storedSizeMismatch(let name): "stored zip entry \"\(name)\" has different compressed and uncompressed sizes"
        case .crcMismatch(let name, let expected, let actual):
            "zip entry \"\(name)\" is corrupt: CRC-32 is \(Self.hex(actual)) but the archive records \(Self.hex(expected))"
        case .inflateFailed(let name, let detail): "zip entry \"\(name)\" cannot be decompressed: \(detail)"
        }
    }

    public var fix: String? {
        switch self {
        case .endOfCentralDirectoryNotFound, .crcMismatch, .entryOutsideFile: "download or copy the file again; it is incomplete or damaged"
        case .encryptedEntry, .unsupportedMethod, .multiDiskArchive: "re-save the checkpoint with torch.save"
        default: nil
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 8 - digits.count)) + digits
    }
}
