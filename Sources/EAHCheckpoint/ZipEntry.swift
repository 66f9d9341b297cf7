/// One file inside a `ZipArchive`, as described by the central directory (zip64 applied).
public struct ZipEntry: Sendable, Equatable {
    /// The name as stored (UTF-8), e.g. `archive/data/0`.
    public let name: String
    /// 0 = STORED, 8 = DEFLATE.
    public let method: Int
    public let crc32: UInt32
    public let compressedSize: Int
    public let uncompressedSize: Int
    /// Offset of the entry's local header.
    public let localHeaderOffset: Int
    /// Absolute range of the (possibly compressed) data in the file; bounds-checked.
    public let dataRange: Range<Int>

    /// Whether the data is stored uncompressed and can be read straight from the map.
    public var isStored: Bool { method == 0 }
}
