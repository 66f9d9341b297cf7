import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Testing

@Suite struct PyTorchReaderTests {
    /// Opens fixture `relative` and compares every tensor (order, dtype, shape, dense bytes)
    /// with what torch wrote into its `.expected.json`.
    @discardableResult
    func check(_ relative: String, format: CheckpointFormat = .pytorch) throws -> PyTorchReader {
        let reader = try PyTorchReader(path: Fixtures.path("torch/" + relative))
        let expected = try TorchExpectation.load(relative)
        #expect(reader.format == format)
        #expect(reader.tensors.map(\.name) == expected.map(\.name))
        for (tensor, expectation) in zip(reader.tensors, expected) {
            #expect(tensor.dtype.name == expectation.dtype, "\(tensor.name)")
            #expect(tensor.shape == expectation.shape, "\(tensor.name)")
            #expect(tensor.byteCount == expectation.bytes.count, "\(tensor.name)")
            let bytes = try reader.bytes(of: tensor)
            #expect(bytes.array == expectation.bytes, "\(tensor.name)")
        }
        return reader
    }

    @Test func everyDTypeMatchesTorch() throws {
        let reader = try check("dtypes.pt")
        let dtypes = reader.tensors.map(\.dtype)
        for dtype in [DType.f32, .f16, .bf16, .i64, .i32, .i16, .i8, .u8, .bool, .f64, .c64, .f8E4M3, .f8E5M2, .u16] {
            #expect(dtypes.contains(dtype), "\(dtype)")
        }
        #expect(reader.tensor(named: "scalar")?.shape == [])
        #expect(reader.tensor(named: "empty")?.shape == [0, 3])
        #expect(reader.metadata.isEmpty)
    }

    @Test func contiguousTensorsAreZeroCopy() throws {
        let reader = try PyTorchReader(path: Fixtures.path("torch/dtypes.pt"))
        for tensor in reader.tensors where tensor.byteCount > 0 {
            #expect(tensor.view == nil, "\(tensor.name)")
            #expect(tensor.byteRange.count == tensor.byteCount)
            #expect(tensor.byteRange.lowerBound % 64 == 0, "torch aligns records to 64 bytes")
            #expect(try reader.bytes(of: tensor).isZeroCopy, "\(tensor.name)")
        }
    }

    @Test func viewsAreHonoured() throws {
        let reader = try check("views.pt")
        func tensor(_ name: String) throws -> TensorInfo { try #require(reader.tensor(named: name)) }
        let transposed = try tensor("transposed")
        #expect(transposed.view == StridedView(offset: 0, strides: [1, 3]))
        #expect(try !reader.bytes(of: transposed).isZeroCopy)
        let rowSlice = try tensor("row_slice")
        #expect(rowSlice.view == nil)
        #expect(try reader.bytes(of: rowSlice).isZeroCopy)
        #expect(try tensor("column_slice").view == StridedView(offset: 1, strides: [4, 1]))
        #expect(try tensor("expanded").view == StridedView(offset: 0, strides: [0, 1]))
        // Shared storage: the row is a window into the full tensor's bytes.
        let full = try tensor("shared_full"), row = try tensor("shared_row"), shared = try tensor("shared_t")
        #expect(full.view == nil && row.view == nil)
        #expect(row.byteRange == full.byteRange.lowerBound + 32..<full.byteRange.lowerBound + 48)
        #expect(shared.byteRange == full.byteRange)
    }

    @Test func nestedStateDicts() throws {
        try check("nested_state_dict.pt")
        try check("nested_model.pt")
        try check("module_state_dict.pt")
        try check("parameter.pt")
    }

    @Test func legacyFormat() throws {
        let reader = try check("legacy.pt", format: .pytorchLegacy)
        #expect(reader.tensor(named: "a_t")?.view != nil)
        let a = try #require(reader.tensor(named: "a"))
        #expect(try reader.bytes(of: a).isZeroCopy)
    }

    @Test func bigEndianArchivesAreSwapped() throws {
        let reader = try check("big_endian.pt")
        for tensor in reader.tensors { #expect(try !reader.bytes(of: tensor).isZeroCopy) }
    }

    @Test func shardsAreOrdinaryCheckpoints() throws {
        try check("sharded/pytorch_model-00001-of-00002.bin")
        try check("sharded/pytorch_model-00002-of-00002.bin")
    }

    @Test func torchScriptArchiveIsRejected() throws {
        let error = #expect(throws: CheckpointError.self) { try PyTorchReader(path: Fixtures.path("torch/torchscript.pt")) }
        #expect(error?.problem as? TorchProblem == .torchScriptArchive)
    }

    @Test func tensorsFromAnotherReaderAreRefused() throws {
        let reader = try PyTorchReader(path: Fixtures.path("torch/dtypes.pt"))
        let other = try PyTorchReader(path: Fixtures.path("torch/views.pt"))
        let foreign = try #require(other.tensors.first)
        let error = #expect(throws: CheckpointError.self) { try reader.bytes(of: foreign) }
        #expect(error?.problem as? TorchProblem == .unknownTensor(foreign.name))
    }

    @Test func deflatedStoragesAreInflated() throws {
        // "hello deflate " × 8 as raw DEFLATE, stored as a 112-element ByteStorage.
        let deflated: [UInt8] = [203, 72, 205, 201, 201, 87, 72, 73, 77, 203, 73, 44, 73, 85, 200, 160, 57, 15, 0]
        let plain = Array(String(repeating: "hello deflate ", count: 8).utf8)
        let pickle = TorchPickleBuilder.stateDict([.init(name: "t", storageType: "ByteStorage", numel: 112, size: [112], stride: [1])])
        var zip = ZipTestBuilder()
        zip.add("archive/data.pkl", pickle)
        zip.add("archive/data/0", deflated, method: 8, crc: ZipTestBuilder.crc32(plain), uncompressedSize: plain.count)
        zip.add("archive/version", "3\n")
        let folder = TemporaryDirectory()
        let reader = try PyTorchReader(path: folder.write("deflated.pt", zip.build()))
        let tensor = try #require(reader.tensor(named: "t"))
        let bytes = try reader.bytes(of: tensor)
        #expect(bytes.array == plain)
        // Inflated as a stream into a mapped temporary file, not into the heap (issue 14,
        // item 7: a 1 MB entry inflating to 1 GiB took 2 GB), so the bytes are a map.
        #expect(bytes.isZeroCopy)
    }

    @Test func nestedDictsAreFlattenedWithDottedNames() throws {
        typealias B = TorchPickleBuilder
        func body(_ tensor: B.Tensor) -> [UInt8] { Array(B.stateDict([tensor]).dropFirst(2).dropLast(1)) }
        let pickle: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + B.string("enc") + body(.init(name: "w", numel: 4, size: [2, 2], stride: [2, 1]))
            + B.string("dec") + body(.init(name: "b", key: "1", numel: 2, size: [2], stride: [1]))
            + B.string("step") + [0x4B, 0x01, 0x75, 0x2E]
        let bytes = B.archive(pickle: pickle, storages: ["0": [UInt8](repeating: 1, count: 16), "1": [UInt8](repeating: 2, count: 8)])
        let folder = TemporaryDirectory()
        let reader = try PyTorchReader(path: folder.write("nested.pt", bytes))
        #expect(reader.tensors.map(\.name) == ["enc.w", "dec.b"])
        #expect(try reader.bytes(of: reader.tensors[1]).array == [UInt8](repeating: 2, count: 8))
    }
}
