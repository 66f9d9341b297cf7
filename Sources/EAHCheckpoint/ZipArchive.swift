import EAHCore
import CZlib
import Synchronization

/// A read-only zip archive over a `MappedFile`, as written by `torch.save`.
///
/// Opening parses the end records (zip64 included), the central directory and every local
/// header, and rejects unsafe names, duplicates, encryption, unknown methods and entries outside
/// the file, without touching entry data. STORED entries are read zero-copy; DEFLATE entries are
/// inflated into an owned buffer. CRC-32 is verified when an entry's bytes are first read (once
/// per entry for stored entries); a mismatch throws `ZipProblem.crcMismatch`.
public final class ZipArchive: Sendable {
    public let file: MappedFile
    /// Entries in central-directory order.
    public let entries: [ZipEntry]
    private let index: [String: Int]
    /// Indices of stored entries whose CRC has been verified.
    private let verified = Mutex<Set<Int>>([])

    /// Bounded search window for the end-of-central-directory record.
    static let maximumCommentLength = 0xFFFF

    /// Parses the archive's directory.
    public init(file: MappedFile) throws(CheckpointError) {
        self.file = file
        do throws(ZipProblem) {
            let parsed = try Self.parse(file.bytes)
            entries = parsed
            var names: [String: Int] = [:]
            for (position, entry) in parsed.enumerated() {
                if names.updateValue(position, forKey: entry.name) != nil { throw .duplicateEntry(entry.name) }
            }
            index = names
        } catch {
            throw CheckpointError(path: file.path, problem: error)
        }
    }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> ZipEntry? {
        index[name].map { entries[$0] }
    }

    /// The uncompressed bytes of `entry`: zero-copy for stored entries (CRC verified on first
    /// read), an owned inflated buffer for deflated ones.
    public func contents(of entry: ZipEntry) throws(CheckpointError) -> TensorBytes {
        do throws(ZipProblem) {
            return try uncheckedContents(of: entry)
        } catch {
            throw CheckpointError(path: file.path, problem: error)
        }
    }

    func uncheckedContents(of entry: ZipEntry) throws(ZipProblem) -> TensorBytes {
        if entry.isStored {
            try verify(entry)
            return TensorBytes(file: file, range: entry.dataRange)
        }
        return TensorBytes(owned: try Self.inflate(file[entry.dataRange], entry: entry))
    }

    /// Verifies the CRC-32 of a stored entry once.
    func verify(_ entry: ZipEntry) throws(ZipProblem) {
        guard let position = index[entry.name], entries[position] == entry else { return }
        if verified.withLock({ $0.contains(position) }) { return }
        let actual = Self.crc(file[entry.dataRange])
        guard actual == entry.crc32 else { throw .crcMismatch(name: entry.name, expected: entry.crc32, actual: actual) }
        _ = verified.withLock { $0.insert(position) }
    }

    /// zlib's CRC-32 of `bytes`, fed in chunks that fit `uInt`.
    static func crc(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return 0 }
        var value = crc32(0, nil, 0)
        var done = 0
        while done < bytes.count {
            let chunk = min(bytes.count - done, 1 << 30)
            value = crc32(value, base + done, uInt(chunk))
            done += chunk
        }
        return UInt32(truncatingIfNeeded: value)
    }

    /// Inflates a deflated entry as a stream, 4 MiB at a time, into an unlinked temporary file
    /// (in `$TMPDIR`, else `/tmp`) and maps it: however large the entry inflates, the process'
    /// heap stays flat and the bytes live in the page cache (paged out, not swapped). The size
    /// and CRC are checked as in `inflate(_:entry:)`. `path` names the archive in errors.
    static func inflateToMappedFile(_ input: UnsafeRawBufferPointer, entry: ZipEntry, path: String) throws(CheckpointError) -> MappedFile {
        func fail(_ detail: String) -> CheckpointError {
            CheckpointError(path: path, problem: ZipProblem.inflateFailed(name: entry.name, detail: detail))
        }
        let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: 1032)
        guard !overflow, entry.uncompressedSize <= bound &+ 64 else {
            throw fail("declared size \(entry.uncompressedSize) is impossible for \(entry.compressedSize) compressed bytes")
        }
        let folder = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((folder + "/eah-inflate-XXXXXX").utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw fail("cannot create a temporary file in \(folder) (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }

        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw fail("zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        let chunk = 4 << 20
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { output.deallocate() }
        var status: Int32 = Z_OK
        var consumed = 0, produced = 0
        var checksum = CZlib.crc32(0, nil, 0)
        while status == Z_OK {
            let inChunk = min(input.count - consumed, 1 << 30)
            stream.next_in = input.baseAddress.map { UnsafeMutablePointer(mutating: ($0 + consumed).assumingMemoryBound(to: Bytef.self)) }
            stream.avail_in = uInt(inChunk)
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(chunk)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let used = inChunk - Int(stream.avail_in), made = chunk - Int(stream.avail_out)
            consumed += used
            produced += made
            guard produced <= entry.uncompressedSize else { throw fail("inflates past its declared size \(entry.uncompressedSize)") }
            if made > 0 {
                checksum = CZlib.crc32(checksum, output.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(made))
                var written = 0
                while written < made {
                    let result = systemWrite(descriptor, output.baseAddress! + written, made - written)
                    if result < 0, errno == EINTR { continue }
                    guard result > 0 else { throw fail("cannot write the temporary file (\(String(cString: strerror(errno))))") }
                    written += result
                }
            }
            if status == Z_OK, used == 0, made == 0 { status = Z_BUF_ERROR }
        }
        if entry.uncompressedSize == 0, produced == 0, status != Z_STREAM_END { status = Z_STREAM_END }
        guard status == Z_STREAM_END else { throw fail("zlib status \(status)") }
        guard produced == entry.uncompressedSize else { throw fail("inflated \(produced) bytes, expected \(entry.uncompressedSize)") }
        let actual = UInt32(truncatingIfNeeded: checksum)
        guard actual == entry.crc32 else {
            throw CheckpointError(path: path, problem: ZipProblem.crcMismatch(name: entry.name, expected: entry.crc32, actual: actual))
        }
        return try MappedFile(descriptor: descriptor, path: path)
    }

    /// Inflates raw DEFLATE data to exactly `entry.uncompressedSize` bytes and checks the CRC.
    static func inflate(_ input: UnsafeRawBufferPointer, entry: ZipEntry) throws(ZipProblem) -> [UInt8] {
        // DEFLATE cannot expand more than 1032:1; refuse absurd declared sizes before allocating.
        let (bound, overflow) = entry.compressedSize.multipliedReportingOverflow(by: 1032)
        guard !overflow, entry.uncompressedSize <= bound &+ 64 else {
            throw .inflateFailed(name: entry.name, detail: "declared size \(entry.uncompressedSize) is impossible for \(entry.compressedSize) compressed bytes")
        }
        var output = [UInt8](repeating: 0, count: entry.uncompressedSize)
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .inflateFailed(name: entry.name, detail: "zlib initialisation failed")
        }
        defer { inflateEnd(&stream) }
        var status: Int32 = Z_OK
        var consumed = 0
        var produced = 0
        output.withUnsafeMutableBytes { out in
            guard let inBase = input.baseAddress, let outBase = out.baseAddress else { return }
            while status == Z_OK {
                let inChunk = min(input.count - consumed, 1 << 30)
                let outChunk = min(out.count - produced, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: (inBase + consumed).assumingMemoryBound(to: Bytef.self))
                stream.avail_in = uInt(inChunk)
                stream.next_out = (outBase + produced).assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(outChunk)
                status = CZlib.inflate(&stream, Z_NO_FLUSH)
                consumed += inChunk - Int(stream.avail_in)
                produced += outChunk - Int(stream.avail_out)
                if status == Z_OK, inChunk - Int(stream.avail_in) == 0, outChunk - Int(stream.avail_out) == 0 {
                    status = Z_BUF_ERROR
                }
            }
        }
        if input.count == 0 || output.isEmpty, entry.uncompressedSize == 0, status != Z_STREAM_END {
            // An empty entry may be an empty or minimal stream; only the size matters.
            status = produced == 0 ? Z_STREAM_END : status
        }
        guard status == Z_STREAM_END else {
            throw .inflateFailed(name: entry.name, detail: "zlib status \(status)")
        }
        guard produced == entry.uncompressedSize else {
            throw .inflateFailed(name: entry.name, detail: "inflated \(produced) bytes, expected \(entry.uncompressedSize)")
        }
        let actual = output.withUnsafeBytes { crc($0) }
        guard actual == entry.crc32 else { throw .crcMismatch(name: entry.name, expected: entry.crc32, actual: actual) }
        return output
    }

    // MARK: Parsing

    private static let eocdSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    static func parse(_ bytes: UnsafeRawBufferPointer) throws(ZipProblem) -> [ZipEntry] {
        guard let eocd = findEndRecord(bytes) else { throw .endOfCentralDirectoryNotFound }
        var reader = ByteReader(bytes, offset: eocd + 4)
        func u16() throws(ZipProblem) -> Int { Int(try wrap { () throws(FileProblem) in try reader.read(UInt16.self, for: "zip end record") }) }
        func u32() throws(ZipProblem) -> Int { Int(try wrap { () throws(FileProblem) in try reader.read(UInt32.self, for: "zip end record") }) }
        let disk = try u16(), centralDisk = try u16(), diskEntries = try u16(), totalEntries = try u16()
        let centralSize = try u32(), centralOffset = try u32()
        var entryCount = totalEntries, directorySize = centralSize, directoryOffset = centralOffset
        var directoryLimit = eocd

        // Zip64: a locator right before the end record.
        if eocd >= 20, bytes.loadUnaligned(fromByteOffset: eocd - 20, as: UInt32.self).littleEndian == zip64LocatorSignature {
            var locator = ByteReader(bytes, offset: eocd - 16)
            let locatorDisk = try wrap { () throws(FileProblem) in try locator.read(UInt32.self, for: "zip64 locator") }
            let recordOffset64 = try wrap { () throws(FileProblem) in try locator.read(UInt64.self, for: "zip64 locator") }
            let diskCount = try wrap { () throws(FileProblem) in try locator.read(UInt32.self, for: "zip64 locator") }
            guard locatorDisk == 0, diskCount <= 1 else { throw .multiDiskArchive }
            guard let recordOffset = Int(exactly: recordOffset64), recordOffset <= eocd - 20 - 56 else {
                throw .invalidZip64("the locator points outside the file")
            }
            var record = ByteReader(bytes, offset: recordOffset)
            func r32() throws(ZipProblem) -> UInt32 { try wrap { () throws(FileProblem) in try record.read(UInt32.self, for: "zip64 end record") } }
            func r64() throws(ZipProblem) -> Int {
                let value = try wrap { () throws(FileProblem) in try record.read(UInt64.self, for: "zip64 end record") }
                guard let result = Int(exactly: value) else { throw .invalidZip64("a size or offset does not fit 63 bits") }
                return result
            }
            guard try r32() == zip64EOCDSignature else { throw .invalidZip64("bad zip64 end record signature") }
            _ = try r64()  // record size
            try wrap { () throws(FileProblem) in try record.skip(4, for: "zip64 end record") }
            let disk64 = try r32(), centralDisk64 = try r32()
            guard disk64 == 0, centralDisk64 == 0 else { throw .multiDiskArchive }
            let diskEntries64 = try r64(), total64 = try r64()
            guard diskEntries64 == total64 else { throw .multiDiskArchive }
            let size64 = try r64(), offset64 = try r64()
            // 32-bit fields must either match or be the 0xFFFF... escape.
            guard totalEntries == 0xFFFF || totalEntries == total64,
                  centralSize == 0xFFFF_FFFF || centralSize == size64,
                  centralOffset == 0xFFFF_FFFF || centralOffset == offset64 else {
                throw .invalidZip64("the zip64 end record disagrees with the end record")
            }
            entryCount = total64
            directorySize = size64
            directoryOffset = offset64
            directoryLimit = recordOffset
        } else {
            guard disk == 0, centralDisk == 0, diskEntries == totalEntries else { throw .multiDiskArchive }
        }
        guard disk == 0 || disk == 0xFFFF, centralDisk == 0 || centralDisk == 0xFFFF else { throw .multiDiskArchive }

        let (directoryEnd, overflow) = directoryOffset.addingReportingOverflow(directorySize)
        guard !overflow, directoryEnd <= directoryLimit else { throw .centralDirectoryOutOfBounds }
        // Each central entry is at least 46 bytes: cap the count before allocating.
        guard entryCount <= directorySize / 46 else { throw .entryCountMismatch(declared: entryCount, found: directorySize / 46) }

        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        let directory = UnsafeRawBufferPointer(rebasing: bytes[0..<directoryEnd])
        var cursor = ByteReader(directory, offset: directoryOffset)
        while cursor.remaining > 0 {
            let position = entries.count
            let raw: RawEntry?
            do throws(FileProblem) { raw = try readCentralEntry(&cursor) } catch { raw = nil }
            guard let raw else { throw .badCentralDirectoryEntry(index: position) }
            entries.append(try validate(raw, bytes: bytes, dataLimit: directoryOffset))
            guard entries.count <= entryCount else { break }
        }
        guard entries.count == entryCount else { throw .entryCountMismatch(declared: entryCount, found: entries.count) }

        // Entries must not overlap: each local header starts after the previous entry's data.
        let ordered = entries.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.localHeaderOffset < previous.dataRange.upperBound {
            throw .overlappingEntries(previous.name, next.name)
        }
        return entries
    }

    /// The raw fields of the central entry at the cursor, zip64 extra applied.
    private typealias RawEntry = (
        name: [UInt8], flags: UInt16, method: Int, crc: UInt32, compressed: UInt64, uncompressed: UInt64,
        localOffset: UInt64, diskStart: UInt16
    )

    private static func readCentralEntry(_ cursor: inout ByteReader) throws(FileProblem) -> RawEntry? {
        let what = "zip central directory entry"
        guard try cursor.read(UInt32.self, for: what) == centralSignature else { return nil }
        try cursor.skip(4, for: what)  // versions
        let flags = try cursor.read(UInt16.self, for: what)
        let method = Int(try cursor.read(UInt16.self, for: what))
        try cursor.skip(4, for: what)  // time, date
        let crc = try cursor.read(UInt32.self, for: what)
        var compressed = UInt64(try cursor.read(UInt32.self, for: what))
        var uncompressed = UInt64(try cursor.read(UInt32.self, for: what))
        let nameLength = Int(try cursor.read(UInt16.self, for: what))
        let extraLength = Int(try cursor.read(UInt16.self, for: what))
        let commentLength = Int(try cursor.read(UInt16.self, for: what))
        var diskStart = try cursor.read(UInt16.self, for: what)
        try cursor.skip(6, for: what)  // attributes
        var localOffset = UInt64(try cursor.read(UInt32.self, for: what))
        let nameBytes = try cursor.readBytes(nameLength, for: what)
        let extra = try cursor.readBytes(extraLength, for: what)
        try cursor.skip(commentLength, for: what)

        // Zip64 extended information (id 1): present fields follow the 0xFFFFFFFF escapes.
        var extraReader = ByteReader(extra)
        while extraReader.remaining >= 4 {
            let id = try extraReader.read(UInt16.self, for: what)
            let size = Int(try extraReader.read(UInt16.self, for: what))
            var field = ByteReader(try extraReader.readBytes(size, for: what))
            guard id == 1 else { continue }
            if uncompressed == 0xFFFF_FFFF { uncompressed = try field.read(UInt64.self, for: what) }
            if compressed == 0xFFFF_FFFF { compressed = try field.read(UInt64.self, for: what) }
            if localOffset == 0xFFFF_FFFF { localOffset = try field.read(UInt64.self, for: what) }
            if diskStart == 0xFFFF { diskStart = UInt16(truncatingIfNeeded: try field.read(UInt32.self, for: what)) }
        }
        return (Array(nameBytes), flags, method, crc, compressed, uncompressed, localOffset, diskStart)
    }

    /// Checks one central entry against the rules and its local header.
    private static func validate(_ raw: RawEntry, bytes: UnsafeRawBufferPointer, dataLimit: Int) throws(ZipProblem) -> ZipEntry {
        let printable = String(decoding: raw.name, as: UTF8.self)
        guard !raw.name.isEmpty, !raw.name.contains(0), let name = String(validating: raw.name, as: UTF8.self) else {
            throw .invalidEntryName(printable)
        }
        if name.hasPrefix("/") || name.hasPrefix("\\")
            || name.split(whereSeparator: { $0 == "/" || $0 == "\\" }).contains(where: { $0 == ".." }) {
            throw .unsafeEntryName(name)
        }
        // Bit 0: traditional encryption; bit 6: strong encryption; bit 13: encrypted directory.
        guard raw.flags & 0x2041 == 0 else { throw .encryptedEntry(name) }
        guard raw.method == 0 || raw.method == 8 else { throw .unsupportedMethod(name: name, method: raw.method) }
        guard raw.diskStart == 0 else { throw .multiDiskArchive }
        guard let compressed = Int(exactly: raw.compressed), let uncompressed = Int(exactly: raw.uncompressed),
              let local = Int(exactly: raw.localOffset) else {
            throw .invalidZip64("entry \"\(name)\" has a size or offset beyond 63 bits")
        }
        if raw.method == 0, compressed != uncompressed { throw .storedSizeMismatch(name) }

        // Local header: signature, method, name; data follows its name and extra field.
        var header = ByteReader(UnsafeRawBufferPointer(rebasing: bytes[0..<dataLimit]), offset: 0)
        guard local <= dataLimit else { throw .entryOutsideFile(name) }
        header.offset = local
        let fields: (UInt32, UInt16, UInt16, Int, Int)
        do throws(FileProblem) {
            let signature = try header.read(UInt32.self, for: "zip local header")
            try header.skip(2, for: "zip local header")
            let flags = try header.read(UInt16.self, for: "zip local header")
            let method = try header.read(UInt16.self, for: "zip local header")
            try header.skip(16, for: "zip local header")
            let nameLength = Int(try header.read(UInt16.self, for: "zip local header"))
            let extraLength = Int(try header.read(UInt16.self, for: "zip local header"))
            fields = (signature, flags, method, nameLength, extraLength)
        } catch {
            throw .entryOutsideFile(name)
        }
        guard fields.0 == localSignature, Int(fields.2) == raw.method, fields.1 & 0x2041 == raw.flags & 0x2041,
              fields.3 == raw.name.count else {
            throw .localHeaderMismatch(name)
        }
        guard header.remaining >= fields.3,
              UnsafeRawBufferPointer(rebasing: bytes[header.offset..<header.offset + fields.3]).elementsEqual(raw.name) else {
            throw .localHeaderMismatch(name)
        }
        // data offset = local header + 30 + name + extra; the data must end before the directory.
        let dataStart = local + 30 + fields.3 + fields.4
        let (dataEnd, overflow) = dataStart.addingReportingOverflow(compressed)
        guard !overflow, dataEnd <= dataLimit else { throw .entryOutsideFile(name) }
        return ZipEntry(
            name: name, method: raw.method, crc32: raw.crc, compressedSize: compressed, uncompressedSize: uncompressed,
            localHeaderOffset: local, dataRange: dataStart..<dataEnd)
    }

    private static func wrap<T>(_ body: () throws(FileProblem) -> T) throws(ZipProblem) -> T {
        do { return try body() } catch { throw .endOfCentralDirectoryNotFound }
    }

    /// Searches backwards, at most 64 KiB + 22 bytes, for an end record whose comment reaches
    /// exactly the end of the file.
    static func findEndRecord(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= 22 else { return nil }
        let lowest = max(0, bytes.count - 22 - maximumCommentLength)
        var candidate = bytes.count - 22
        while candidate >= lowest {
            if bytes.loadUnaligned(fromByteOffset: candidate, as: UInt32.self).littleEndian == eocdSignature {
                let comment = Int(bytes.loadUnaligned(fromByteOffset: candidate + 20, as: UInt16.self).littleEndian)
                if candidate + 22 + comment == bytes.count { return candidate }
            }
            candidate -= 1
        }
        return nil
    }
}
