import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite struct ZipArchiveTests {
    func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("torch/" + name))))
    }

    func open(_ bytes: [UInt8]) throws(CheckpointError) -> ZipArchive {
        let folder = TemporaryDirectory()
        return try ZipArchive(file: try MappedFile(path: folder.write("archive.zip", bytes)))
    }

    func problem(_ bytes: [UInt8]) -> ZipProblem? {
        do {
            _ = try open(bytes)
            return nil
        } catch {
            return error.problem as? ZipProblem
        }
    }

    func readLE32(_ bytes: [UInt8], _ at: Int) -> Int { (0..<4).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }

    func writeLE32(_ bytes: inout [UInt8], _ at: Int, _ value: Int) {
        for index in 0..<4 { bytes[at + index] = UInt8((value >> (8 * index)) & 0xFF) }
    }

    @Test func torchArchiveDirectory() throws {
        let archive = try ZipArchive(file: try MappedFile(path: Fixtures.path("torch/dtypes.pt")))
        #expect(archive.entries.first?.name == "dtypes/data.pkl")
        #expect(archive.entries.allSatisfy { $0.name.hasPrefix("dtypes/") && $0.isStored })
        #expect(archive.entries.allSatisfy { $0.dataRange.lowerBound % 64 == 0 })
        let pickle = try #require(archive.entry(named: "dtypes/data.pkl"))
        let bytes = try archive.contents(of: pickle)
        #expect(bytes.isZeroCopy)
        #expect(Array(bytes.array.prefix(2)) == [0x80, 0x02])
        #expect(archive.entry(named: "dtypes/missing") == nil)
    }

    @Test func badCRCIsDetectedWhenRead() throws {
        // Opening is lazy: the directory is fine; the flipped byte shows when data/0 is read.
        let archive = try ZipArchive(file: try MappedFile(path: Fixtures.path("torch/bad_crc.pt")))
        let entry = try #require(archive.entry(named: "dtypes/data/0"))
        let error = #expect(throws: CheckpointError.self) { try archive.contents(of: entry) }
        guard case .crcMismatch(let name, let expected, let actual) = error?.problem as? ZipProblem else {
            Issue.record("expected a CRC mismatch, got \(String(describing: error))")
            return
        }
        #expect(name == "dtypes/data/0" && expected != actual)

        let reader = try PyTorchReader(path: Fixtures.path("torch/bad_crc.pt"))
        let tensor = try #require(reader.tensor(named: "f32"))
        let readError = #expect(throws: CheckpointError.self) { try reader.bytes(of: tensor) }
        #expect(readError?.problem is ZipProblem)
        // Other storages are intact.
        #expect(throws: Never.self) { try reader.bytes(of: try #require(reader.tensor(named: "f16"))) }
    }

    @Test func entryRules() {
        var duplicate = ZipTestBuilder()
        duplicate.add("a/x", "1")
        duplicate.add("a/x", "2")
        #expect(problem(duplicate.build()) == .duplicateEntry("a/x"))

        for name in ["a/../b", "../b", "/etc/passwd", "\\windows", "a\\..\\b"] {
            var unsafe = ZipTestBuilder()
            unsafe.add(name, "x")
            #expect(problem(unsafe.build()) == .unsafeEntryName(name), "\(name)")
        }

        var encrypted = ZipTestBuilder()
        encrypted.add("a/x", Array("x".utf8), flags: 1)
        #expect(problem(encrypted.build()) == .encryptedEntry("a/x"))

        var bzip = ZipTestBuilder()
        bzip.add("a/x", Array("x".utf8), method: 12)
        #expect(problem(bzip.build()) == .unsupportedMethod(name: "a/x", method: 12))

        var sizes = ZipTestBuilder()
        sizes.add("a/x", Array("x".utf8), uncompressedSize: 99)
        #expect(problem(sizes.build()) == .storedSizeMismatch("a/x"))

        var bad = ZipTestBuilder()
        bad.add("a/x", [0x01, 0x02, 0x03], method: 8, crc: 0, uncompressedSize: 3)
        #expect(throws: CheckpointError.self) {
            let archive = try open(bad.build())
            _ = try archive.contents(of: archive.entries[0])
        }
    }

    @Test func endRecordProblems() throws {
        let original = try fixture("dtypes.pt")
        let eocd = original.count - 22
        #expect(readLE32(original, eocd) == 0x0605_4B50)

        var signature = original
        signature[eocd] = 0
        #expect(problem(signature) == .endOfCentralDirectoryNotFound)

        // torch writes zip64 end records: the 32-bit fields must agree with them.
        var disagreeing = original
        writeLE32(&disagreeing, eocd + 16, 0x7FFF_0000)
        #expect(problem(disagreeing) == .invalidZip64("the zip64 end record disagrees with the end record"))

        // A plain (non-zip64) archive from the builder.
        var builder = ZipTestBuilder()
        builder.add("a/x", "1")
        builder.add("a/y", "2")
        let plain = builder.build()
        let plainEnd = plain.count - 22
        var offset = plain
        writeLE32(&offset, plainEnd + 16, 0x7FFF_0000)
        #expect(problem(offset) == .centralDirectoryOutOfBounds)

        var count = plain
        count[plainEnd + 8] = 1
        count[plainEnd + 10] = 1
        #expect(problem(count) == .entryCountMismatch(declared: 1, found: 2))

        var disks = original
        disks[eocd + 4] = 1
        #expect(problem(disks) == .multiDiskArchive)

        // A trailing comment that does not reach the end of the file is not an end record.
        #expect(problem(original + [0, 0, 0]) == .endOfCentralDirectoryNotFound)
        #expect(problem([0x50, 0x4B, 0x03, 0x04]) == .endOfCentralDirectoryNotFound)
    }

    @Test func truncatedArchives() throws {
        let original = try fixture("dtypes.pt")
        for length in [4, 10, 100, original.count / 2, original.count - 30, original.count - 1] {
            #expect(problem(Array(original.prefix(length))) == .endOfCentralDirectoryNotFound, "\(length)")
        }
    }

    @Test func centralEntriesOutsideOrMismatched() throws {
        let original = try fixture("dtypes.pt")
        let archive = try ZipArchive(file: try MappedFile(path: Fixtures.path("torch/dtypes.pt")))
        let directory = readLE32(original, original.count - 22 + 16)
        #expect(readLE32(original, directory) == 0x0201_4B50)

        var outside = original
        writeLE32(&outside, directory + 42, 0x7FFF_FFF0)
        #expect(problem(outside) == .entryOutsideFile("dtypes/data.pkl"))

        var mismatched = original
        writeLE32(&mismatched, directory + 42, archive.entries[1].localHeaderOffset)
        #expect(problem(mismatched) == .localHeaderMismatch("dtypes/data.pkl"))

        var huge = original
        writeLE32(&huge, directory + 20, 0x7FFF_FFF0)
        writeLE32(&huge, directory + 24, 0x7FFF_FFF0)
        #expect(problem(huge) == .entryOutsideFile("dtypes/data.pkl"))

        var signature = original
        signature[directory] = 0
        #expect(problem(signature) == .badCentralDirectoryEntry(index: 0))
    }

    /// Rewrites a builder archive's end record as zip64 (record + locator + escaped EOCD).
    func zip64(_ plain: [UInt8], totalEntries: Int? = nil) -> [UInt8] {
        let eocd = plain.count - 22
        let entries = Int(plain[eocd + 10]) | Int(plain[eocd + 11]) << 8
        let size = readLE32(plain, eocd + 12), offset = readLE32(plain, eocd + 16)
        func le(_ value: Int, _ count: Int) -> [UInt8] { (0..<count).map { UInt8((value >> (8 * $0)) & 0xFF) } }
        var out = Array(plain.prefix(eocd))
        let record = out.count
        out += le(0x0606_4B50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4)
        out += le(totalEntries ?? entries, 8) + le(totalEntries ?? entries, 8) + le(size, 8) + le(offset, 8)
        out += le(0x0706_4B50, 4) + le(0, 4) + le(record, 8) + le(1, 4)
        out += le(0x0605_4B50, 4) + le(0, 4) + le(0xFFFF, 2) + le(0xFFFF, 2) + le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(0, 2)
        return out
    }

    @Test func zip64EndRecords() throws {
        var builder = ZipTestBuilder()
        builder.add("a/one", "first")
        builder.add("a/two", "second")
        let archive = try open(zip64(builder.build()))
        #expect(archive.entries.map(\.name) == ["a/one", "a/two"])
        #expect(try archive.contents(of: archive.entries[1]).array == Array("second".utf8))
        guard case .entryCountMismatch(3, _) = problem(zip64(builder.build(), totalEntries: 3)) else {
            Issue.record("expected an entry count mismatch")
            return
        }
        var broken = zip64(builder.build())
        let locator = broken.count - 22 - 20
        writeLE32(&broken, locator + 8, 0x7FFF_FFFF)
        #expect(problem(broken) == .invalidZip64("the locator points outside the file"))
    }
}
