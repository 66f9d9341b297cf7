import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Testing

@Suite struct SafetensorsReaderTests {
    @Test func readsEveryDTypeLikeTheReference() throws {
        let expected = try ExpectedSafetensors.load("all_dtypes.safetensors")
        let reader = try SafetensorsReader(path: Fixtures.path("safetensors/all_dtypes.safetensors"))
        #expect(reader.format == .safetensors)
        #expect(reader.headerLength == expected.headerLength)
        #expect(reader.file.count == expected.fileLength)
        #expect(reader.tensors.map(\.name) == expected.tensors.map(\.name))
        for (tensor, reference) in zip(reader.tensors, expected.tensors) {
            #expect(tensor.dtype.name == reference.dtype)
            #expect(tensor.shape == reference.shape)
            #expect(tensor.file == reader.path)
            #expect(tensor.byteRange == 8 + expected.headerLength + reference.begin..<8 + expected.headerLength + reference.end)
            let bytes = try reader.bytes(of: tensor)
            #expect(bytes.isZeroCopy)
            #expect(bytes.array == reference.bytes, "\(tensor.name)")
            #expect(tensor.byteCount == reference.bytes.count)
        }
        // The fixture covers what the brief asks for.
        let dtypes = Set(reader.tensors.map(\.dtype))
        for dtype: DType in [.f64, .f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u8, .bool, .u16, .u32, .u64, .f8E4M3, .f8E5M2] {
            #expect(dtypes.contains(dtype), "\(dtype)")
        }
        #expect(reader.tensor(named: "scalar")?.shape == [])
        #expect(reader.tensor(named: "scalar")?.elementCount == 1)
        #expect(reader.tensor(named: "empty")?.byteRange.isEmpty == true)
        #expect(reader.metadata == [MetadataEntry(key: "format", value: .string("pt"))])
    }

    @Test func metadataInHeaderOrder() throws {
        let expected = try ExpectedSafetensors.load("with_metadata.safetensors")
        let reader = try SafetensorsReader(path: Fixtures.path("safetensors/with_metadata.safetensors"))
        #expect(reader.metadata == expected.metadata.map { MetadataEntry(key: $0.0, value: .string($0.1)) })
        #expect(reader.metadataValue("note") == .string("ünïcode ✓"))
        #expect(reader.tensors.map(\.name) == expected.tensors.map(\.name))
    }

    @Test func tensorOrderIsOffsetOrderNotHeaderOrder() throws {
        let header = #"{"late":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"early":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}"#
        let folder = TemporaryDirectory()
        let path = folder.write("x.safetensors", SafetensorsBytes.file(header: header, data: [1, 2, 3, 4]))
        let reader = try SafetensorsReader(path: path)
        #expect(reader.tensors.map(\.name) == ["early", "late"])
        let offset = 8 + header.utf8.count
        #expect(reader.tensors[1].byteRange == offset + 2..<offset + 4)
        #expect(try reader.bytes(of: reader.tensors[1]).array == [3, 4])
        #expect(reader.metadata.isEmpty)
    }

    @Test func canonicallyEquivalentNamesAreDistinctTensors() throws {
        let header = "{\"\u{E9}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
            + "\"e\u{301}\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}"
        let folder = TemporaryDirectory()
        let reader = try SafetensorsReader(path: folder.write("x.safetensors", SafetensorsBytes.file(header: header, data: [5, 6])))
        #expect(reader.tensors.map { Array($0.name.utf8) } == [[0xC3, 0xA9], [0x65, 0xCC, 0x81]])
        #expect(try reader.tensors.map { try reader.bytes(of: $0).array } == [[5], [6]])
    }

    @Test func acceptsLeadingAndTrailingWhitespaceAndEmptyFile() throws {
        #expect(SafetensorsBytes.problem(SafetensorsBytes.file(header: "{}      ")) == nil)
        #expect(SafetensorsBytes.problem(SafetensorsBytes.file(header: "\n\t {\"__metadata__\":{}} \r\n")) == nil)
        #expect(SafetensorsBytes.problem(SafetensorsBytes.file(header: "")) != nil)
    }

    @Test func subByteTypesAreCountedInBits() throws {
        let folder = TemporaryDirectory()
        let header = #"{"f4":{"dtype":"F4","shape":[2,3],"data_offsets":[0,3]},"f6":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[3,6]}}"#
        let reader = try SafetensorsReader(path: folder.write("x.safetensors", SafetensorsBytes.file(header: header, data: [1, 2, 3, 4, 5, 6])))
        #expect(reader.tensors.map(\.byteCount) == [3, 3])
    }

    @Test func bytesOfAForeignTensorIsRefused() throws {
        let reader = try SafetensorsReader(path: Fixtures.path("safetensors/all_dtypes.safetensors"))
        let foreign = TensorInfo(name: "nope", dtype: .f32, shape: [1], file: reader.path, byteRange: 0..<4)
        do throws(CheckpointError) {
            _ = try reader.bytes(of: foreign)
            Issue.record("expected an error")
        } catch {
            #expect(error.problem as? SafetensorsProblem == .notInFile(tensor: "nope"))
            #expect(error.isUsageError)
        }
    }

    @Test func missingFileIsNotFound() {
        do throws(CheckpointError) {
            _ = try SafetensorsReader(path: "/nonexistent/x.safetensors")
            Issue.record("expected an error")
        } catch {
            #expect(error.problem as? FileProblem == .notFound)
        }
    }
}
