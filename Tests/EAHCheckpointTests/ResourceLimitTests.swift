import EAHCheckpoint
import EAHTestSupport
import Testing

/// Issue 14, item 7: small files that would cost far more than their size are refused by
/// limits in the readers, before the cost.
@Suite struct ResourceLimitTests {
    /// A GGUF v3 with no tensors and one metadata array of `count` u8 elements.
    static func ggufWithArray(count: Int) -> [UInt8] {
        func u32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        func u64(_ value: UInt64) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }
        let key = Array("test.big".utf8)
        return Array("GGUF".utf8) + u32(3) + u64(0) + u64(1) + u64(UInt64(key.count)) + key + u32(9) + u32(0) + u64(UInt64(count))
            + [UInt8](repeating: 7, count: count)
    }

    @Test("a 32 MiB GGUF whose one array holds 2^25 elements is refused, not expanded")
    func hugeMetadataArray() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("big.gguf", Self.ggufWithArray(count: 1 << 25))
        let error = #expect(throws: CheckpointError.self) { try GGUFReader(path: path) }
        #expect(error?.problem as? GGUFProblem == .tooManyMetadataElements(key: "test.big", total: 1 << 25, limit: GGUFReader.maximumMetadataElements))
        // Up to the limit it opens.
        let fits = folder.write("fits.gguf", Self.ggufWithArray(count: 1 << 16))
        let reader = try GGUFReader(path: fits)
        guard case .array(_, let elements)? = reader.metadata.first?.value else { Issue.record("no array"); return }
        #expect(elements.count == 1 << 16)
    }
}
