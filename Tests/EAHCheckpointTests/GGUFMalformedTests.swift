import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Malformed GGUF files made by mutating the committed all_types.gguf; each test names the exact
/// problem the reader must report.
@Suite struct GGUFMalformedTests {
    static let valid: [UInt8] = (try? GGUFReaderTests.fixtureBytes("all_types.gguf")) ?? []
    static let aligned64: [UInt8] = (try? GGUFReaderTests.fixtureBytes("writer_expected_align64.gguf")) ?? []

    // MARK: - Helpers

    /// The problem the reader reports for `bytes`, or nil if it opens them.
    static func problem(_ bytes: [UInt8]) -> (any CheckpointProblem)? {
        let folder = TemporaryDirectory()
        let path = folder.write("bad.gguf", bytes)
        do {
            _ = try GGUFReader(path: path)
            return nil
        } catch {
            #expect(error.path == path)
            #expect(!error.isUsageError)
            #expect(!error.description.isEmpty)
            return error.problem
        }
    }

    static func gguf(_ bytes: [UInt8]) -> GGUFProblem? { problem(bytes) as? GGUFProblem }

    static func file(_ bytes: [UInt8]) -> FileProblem? { problem(bytes) as? FileProblem }

    static func lengthPrefixed(_ text: String) -> [UInt8] {
        withUnsafeBytes(of: UInt64(text.utf8.count).littleEndian) { Array($0) } + Array(text.utf8)
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8]) -> Int {
        for start in 0...(bytes.count - needle.count) where bytes[start..<start + needle.count].elementsEqual(needle) {
            return start
        }
        Issue.record("\(needle) not found")
        return 0
    }

    /// Offset just after the length-prefixed string `text` (a key's value type, a tensor's n_dims).
    static func after(_ text: String, in bytes: [UInt8] = valid) -> Int {
        let needle = lengthPrefixed(text)
        return find(needle, in: bytes) + needle.count
    }

    static func setting<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: [UInt8] = valid) -> [UInt8] {
        var copy = bytes
        withUnsafeBytes(of: value.littleEndian) { copy.replaceSubrange(offset..<offset + MemoryLayout<T>.size, with: $0) }
        return copy
    }

    /// Replaces the length-prefixed string `old` with `new` (shifting what follows).
    static func renaming(_ old: String, to new: String, in bytes: [UInt8] = valid) -> [UInt8] {
        var copy = bytes
        let start = find(lengthPrefixed(old), in: bytes)
        copy.replaceSubrange(start..<start + 8 + old.utf8.count, with: lengthPrefixed(new))
        return copy
    }

    // MARK: - Header

    @Test("the fixture itself is valid")
    func fixtureIsValid() {
        #expect(Self.valid.count > 1000)
        #expect(Self.problem(Self.valid) == nil)
        #expect(Self.problem(Self.aligned64) == nil)
    }

    @Test("truncation inside the header is reported with what was being read",
          arguments: [0, 3, 4, 7, 10, 20, 600, 900, 1500])
    func truncatedHeader(length: Int) throws {
        let problem = try #require(Self.file(Array(Self.valid.prefix(length))))
        guard case .truncated(_, _, _, let fileLength) = problem else {
            Issue.record("expected truncated, got \(problem)")
            return
        }
        #expect(fileLength == length)
    }

    @Test("a header cut so short its 21 tensor infos cannot fit is caught by the count cap", arguments: [30, 100, 400])
    func truncatedBelowCountCap(length: Int) {
        #expect(Self.gguf(Array(Self.valid.prefix(length))) == .tooManyTensors(count: 21, remainingBytes: length - 24))
    }

    @Test("exact truncation messages")
    func truncatedMessages() {
        #expect(Self.file(Array(Self.valid.prefix(3))) == .truncated(what: "GGUF magic", offset: 0, needed: 4, length: 3))
        #expect(Self.file(Array(Self.valid.prefix(10))) == .truncated(what: "tensor count", offset: 8, needed: 8, length: 10))
    }

    @Test("truncation inside the data section names the tensor")
    func truncatedData() throws {
        let reader = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        let first = try #require(reader.tensors.first)
        let cut = reader.dataOffset + 10
        #expect(Self.gguf(Array(Self.valid.prefix(cut))) ==
                .dataOutOfBounds(tensor: first.name, offset: 0, byteCount: first.byteCount, fileSize: cut))
        let last = try #require(reader.tensors.last)
        let shorter = Self.valid.count - 16
        #expect(Self.gguf(Array(Self.valid.prefix(shorter))) ==
                .dataOutOfBounds(tensor: last.name, offset: UInt64(last.byteRange.lowerBound - reader.dataOffset),
                                 byteCount: last.byteCount, fileSize: shorter))
    }

    @Test("bad magic")
    func badMagic() {
        #expect(Self.gguf(Self.setting(UInt32(0x4c4d_4747), at: 0)) == .badMagic([0x47, 0x47, 0x4d, 0x4c]))
    }

    @Test("versions 0, 1 and 4 are unsupported", arguments: [UInt32(0), 1, 4])
    func unsupportedVersion(version: UInt32) {
        #expect(Self.gguf(Self.setting(version, at: 4)) == .unsupportedVersion(version))
    }

    @Test("a big-endian file is recognised")
    func bigEndian() {
        #expect(Self.gguf(Self.setting(UInt32(0x0300_0000), at: 4)) == .bigEndian(version: 0x0300_0000))
    }

    @Test("absurd counts are refused before allocating")
    func absurdCounts() {
        let remaining = Self.valid.count - 24
        #expect(Self.gguf(Self.setting(UInt64(1) << 60, at: 8)) == .tooManyTensors(count: 1 << 60, remainingBytes: remaining))
        #expect(Self.gguf(Self.setting(UInt64.max, at: 16)) == .tooManyMetadataEntries(count: .max, remainingBytes: remaining))
    }

    // MARK: - Metadata

    @Test("a string running past the end of the file")
    func stringPastEnd() {
        let length = Self.after("test.string") + 4
        #expect(Self.file(Self.setting(UInt64(10_000_000), at: length)) ==
                .truncated(what: "value of 'test.string'", offset: length + 8, needed: 10_000_000, length: Self.valid.count))
    }

    @Test("strings over 1 GiB")
    func hugeString() {
        #expect(Self.gguf(Self.setting(UInt64(1 << 30) + 1, at: Self.after("test.string") + 4)) ==
                .stringTooLong(what: "value of 'test.string'", length: (1 << 30) + 1))
        #expect(Self.gguf(Self.setting(UInt64(1) << 62, at: 24)) == .stringTooLong(what: "key of metadata entry 0", length: 1 << 62))
    }

    @Test("array counts over 2^30, and under it but past the end")
    func hugeArray() {
        let count = Self.after("test.array_ints") + 8
        #expect(Self.gguf(Self.setting(UInt64(1) << 31, at: count)) == .arrayTooLong(key: "test.array_ints", count: 1 << 31))
        #expect(Self.file(Self.setting(UInt64(1) << 29, at: count)) ==
                .truncated(what: "536870912 elements of 'test.array_ints'", offset: count + 8, needed: 1 << 31, length: Self.valid.count))
    }

    @Test("nested arrays")
    func nestedArray() {
        #expect(Self.gguf(Self.setting(UInt32(9), at: Self.after("test.array_ints") + 4)) == .nestedArray(key: "test.array_ints"))
    }

    @Test("unknown value and element types")
    func unknownValueType() {
        #expect(Self.gguf(Self.setting(UInt32(13), at: Self.after("test.u8"))) == .unknownValueType(key: "test.u8", code: 13))
        #expect(Self.gguf(Self.setting(UInt32(200), at: Self.after("test.array_ints") + 4)) ==
                .unknownValueType(key: "test.array_ints", code: 200))
    }

    @Test("duplicate and empty keys")
    func keys() {
        #expect(Self.gguf(Self.renaming("test.i8", to: "test.u8")) == .duplicateKey("test.u8"))
        #expect(Self.gguf(Self.renaming("test.u8", to: "")) == .emptyKey(index: 1))
    }

    @Test("general.alignment must be a u32 power of two")
    func alignment() {
        let type = Self.after("general.alignment", in: Self.aligned64)
        #expect(Self.gguf(Self.setting(UInt32(0), at: type + 4, in: Self.aligned64)) == .invalidAlignment(0))
        #expect(Self.gguf(Self.setting(UInt32(48), at: type + 4, in: Self.aligned64)) == .invalidAlignment(48))
        #expect(Self.gguf(Self.setting(UInt32(5), at: type, in: Self.aligned64)) == .alignmentNotUInt32(.int32))
    }

    // MARK: - Tensor infos

    @Test("tensor names: 64 bytes, empty, duplicate")
    func names() {
        let long = String(repeating: "x", count: 64)
        #expect(Self.gguf(Self.renaming("t.F32", to: long)) == .tensorNameTooLong(name: long, bytes: 64))
        #expect(Self.gguf(Self.renaming("t.F32", to: "")) == .emptyTensorName(index: 0))
        #expect(Self.gguf(Self.renaming("t.F16", to: "t.F32")) == .duplicateTensorName("t.F32"))
    }

    @Test("more than 4 dimensions")
    func tooManyDimensions() {
        #expect(Self.gguf(Self.setting(UInt32(5), at: Self.after("t.F32"))) == .tooManyDimensions(tensor: "t.F32", count: 5))
    }

    @Test("dimensions whose element count overflows, or that are negative as int64")
    func invalidDimensions() {
        let dims = Self.after("t.Q4_K") + 4  // ne = [256, 2, 2]
        let overflowing = Self.setting(UInt64(1) << 40, at: dims + 16, in: Self.setting(UInt64(1) << 40, at: dims + 8))
        #expect(Self.gguf(overflowing) == .invalidDimensions(tensor: "t.Q4_K", ne: [256, 1 << 40, 1 << 40]))
        #expect(Self.gguf(Self.setting(UInt64(1) << 63, at: dims + 8)) == .invalidDimensions(tensor: "t.Q4_K", ne: [256, 1 << 63, 2]))
    }

    @Test("removed and unknown type ids", arguments: [(UInt32(4), true), (5, true), (31, true), (38, true), (99, false), (43, false)])
    func typeIDs(id: UInt32, removed: Bool) {
        let type = Self.after("t.F32") + 4 + 2 * 8  // n_dims 2
        let problem = Self.gguf(Self.setting(id, at: type))
        #expect(problem == (removed ? .removedType(tensor: "t.F32", id: id) : .unknownType(tensor: "t.F32", id: id)))
    }

    @Test("rows that are not whole blocks")
    func partialBlock() {
        #expect(Self.gguf(Self.setting(UInt64(48), at: Self.after("t.Q8_0") + 4)) == .partialBlock(tensor: "t.Q8_0", type: .q8_0, rowLength: 48))
    }

    @Test("offsets must be aligned and equal to the running padded sum")
    func offsets() {
        let offset = Self.after("t.F16") + 4 + 2 * 8 + 4  // t.F16 sits at 64 (t.F32 is 60 bytes)
        #expect(Self.gguf(Self.setting(UInt64(65), at: offset)) == .misalignedOffset(tensor: "t.F16", offset: 65, alignment: 32))
        #expect(Self.gguf(Self.setting(UInt64(96), at: offset)) == .unexpectedOffset(tensor: "t.F16", offset: 96, expected: 64))
        #expect(Self.gguf(Self.setting(UInt64(0), at: offset)) == .unexpectedOffset(tensor: "t.F16", offset: 0, expected: 64))
    }

    @Test("problems carry a message and a fix")
    func messages() {
        let problem = GGUFProblem.tensorNameTooLong(name: "x", bytes: 64)
        #expect(problem.message.contains("63"))
        #expect(problem.fix != nil)
        #expect(GGUFProblem.unsupportedVersion(1).fix?.contains("v1") == true)
    }
}
