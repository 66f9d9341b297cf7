import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// Reading gguf-py's all_types.gguf (tools/make_gguf_fixtures.py).
@Suite struct GGUFReaderTests {
    struct ExpectedTensor { let name: String; let type: String; let shape: [Int]; let range: Range<Int> }

    static func expectedTensors() throws -> [ExpectedTensor] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/all_types.json")))
        let root = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let tensors = try #require(root["tensors"] as? [[String: Any]])
        return try tensors.map { tensor in
            ExpectedTensor(
                name: try #require(tensor["name"] as? String), type: try #require(tensor["type"] as? String),
                shape: try #require(tensor["shape"] as? [Int]),
                range: try #require(tensor["start"] as? Int)..<(try #require(tensor["end"] as? Int)))
        }
    }

    static func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("gguf/" + name))))
    }

    /// A raw little-endian float32 fixture.
    static func floats(_ name: String) throws -> [Float] {
        let raw = try fixtureBytes(name)
        return stride(from: 0, to: raw.count, by: 4).map { offset in
            Float(bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
        }
    }

    @Test("metadata of every value type reads back as written, in file order")
    func metadata() throws {
        let reader = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        #expect(reader.format == .gguf)
        #expect(reader.version == 3)
        #expect(reader.alignment == 32)
        let expected: [MetadataEntry] = [
            .init(key: "general.architecture", value: .string("testarch")),
            .init(key: "test.u8", value: .uint8(200)),
            .init(key: "test.i8", value: .int8(-100)),
            .init(key: "test.u16", value: .uint16(60000)),
            .init(key: "test.i16", value: .int16(-30000)),
            .init(key: "test.u32", value: .uint32(4_000_000_000)),
            .init(key: "test.i32", value: .int32(-2_000_000_000)),
            .init(key: "test.f32", value: .float32(1.5)),
            .init(key: "test.bool_true", value: .bool(true)),
            .init(key: "test.bool_false", value: .bool(false)),
            .init(key: "test.string", value: .string("héllo wörld ✓")),
            .init(key: "test.u64", value: .uint64(18_000_000_000_000_000_000)),
            .init(key: "test.i64", value: .int64(-9_000_000_000_000_000_000)),
            .init(key: "test.f64", value: .float64(3.141592653589793)),
            .init(key: "test.array_strings", value: .array(element: .string, [.string("a"), .string("bc"), .string(""), .string("déf")])),
            .init(key: "test.array_ints", value: .array(element: .int32, [.int32(1), .int32(-2), .int32(3)])),
            .init(key: "test.array_floats", value: .array(element: .float32, [.float32(0.5), .float32(-1.25)])),
            .init(key: "test.array_u8", value: .array(element: .uint8, [.uint8(1), .uint8(2), .uint8(255)])),
            .init(key: "test.array_u64", value: .array(element: .uint64, [.uint64(1), .uint64(1 << 63)])),
            .init(key: "test.array_bools", value: .array(element: .bool, [.bool(true), .bool(false), .bool(true)])),
            .init(key: "test.array_empty", value: .array(element: .uint32, [])),
            .init(key: "general.quantization_version", value: .uint32(2)),
        ]
        #expect(reader.metadata.count == expected.count)
        for (actual, wanted) in zip(reader.metadata, expected) { #expect(actual == wanted) }
        #expect(reader.metadataValue("test.u32")?.integer == 4_000_000_000)
    }

    @Test("tensors: names, types, row-major shapes and absolute byte ranges match gguf-py")
    func tensors() throws {
        let reader = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        let expected = try Self.expectedTensors()
        #expect(reader.tensors.map(\.name) == expected.map(\.name))
        for (tensor, wanted) in zip(reader.tensors, expected) {
            #expect(tensor.dtype.name == wanted.type, "\(tensor.name)")
            #expect(tensor.shape == wanted.shape, "\(tensor.name)")
            #expect(tensor.byteRange == wanted.range, "\(tensor.name)")
            #expect(tensor.byteCount == wanted.range.count, "\(tensor.name)")
            #expect(tensor.file == Fixtures.path("gguf/all_types.gguf"))
        }
        #expect(reader.tensor(named: "t.Q4_K")?.shape == [2, 2, 256])
        #expect(reader.dataOffset == expected.first?.range.lowerBound)
    }

    @Test("tensor bytes are zero-copy and dequantize to gguf-py's values")
    func tensorBytes() throws {
        let reader = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        for tensor in reader.tensors where tensor.name != "t.I32" {
            let bytes = try reader.bytes(of: tensor)
            #expect(bytes.isZeroCopy)
            #expect(bytes.array == (try Self.fixtureBytes("dequant/\(tensor.dtype.name).bin")), "\(tensor.name)")
            let expected = try Self.floats("dequant/\(tensor.dtype.name).f32")
            var values = [Float](repeating: 0, count: tensor.elementCount)
            let result: Result<Void, ConversionError> = bytes.withUnsafeBytes { raw in
                values.withUnsafeMutableBufferPointer { destination in
                    Result { () throws(ConversionError) in try Dequantizer.toFloat32(raw, type: tensor.dtype, into: destination) }
                }
            }
            try result.get()
            #expect(values.map(\.bitPattern) == expected.map(\.bitPattern), "\(tensor.name)")
        }
        let ints = try #require(reader.tensor(named: "t.I32"))
        #expect(ints.dtype == .i32)
        #expect(try reader.bytes(of: ints).array == (0..<6).flatMap { [UInt8($0), 0, 0, 0] })
    }

    @Test("a v2 file reads like its v3 twin")
    func version2() throws {
        let v3 = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        let v2 = try GGUFReader(path: Fixtures.path("gguf/all_types_v2.gguf"))
        #expect(v2.version == 2)
        #expect(v2.metadata == v3.metadata)
        #expect(v2.tensors.map(\.shape) == v3.tensors.map(\.shape))
        #expect(v2.tensors.map(\.byteRange) == v3.tensors.map(\.byteRange))
    }

    @Test("general.alignment is honoured")
    func customAlignment() throws {
        let reader = try GGUFReader(path: Fixtures.path("gguf/writer_expected_align64.gguf"))
        #expect(reader.alignment == 64)
        #expect(reader.dataOffset % 64 == 0)
        for tensor in reader.tensors { #expect((tensor.byteRange.lowerBound - reader.dataOffset) % 64 == 0) }
    }

    @Test("a tensor of another, larger file is refused instead of read out of bounds")
    func foreignTensor() throws {
        let large = try GGUFReader(path: Fixtures.path("gguf/all_types.gguf"))
        let small = try GGUFReader(path: Fixtures.path("gguf/writer_expected.gguf"))
        let tensor = try #require(large.tensors.last)
        let error = #expect(throws: CheckpointError.self) { try small.bytes(of: tensor) }
        guard case .dataOutOfBounds(let name, _, _, let size)? = error?.problem as? GGUFProblem else {
            Issue.record("expected dataOutOfBounds, got \(String(describing: error))")
            return
        }
        #expect(name == tensor.name)
        #expect(size == small.file.count)
    }

    @Test("a missing file is reported as such")
    func missingFile() {
        let error = #expect(throws: CheckpointError.self) { try GGUFReader(path: "/nonexistent/model.gguf") }
        #expect((error?.problem as? FileProblem) == .notFound)
    }
}
