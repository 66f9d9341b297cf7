import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Foundation
import Testing

/// GGUFWriter against gguf-py's GGUFWriter output for the same plan (tools/make_gguf_fixtures.py).
@Suite struct GGUFWriterTests {
    /// The metadata `writer_plan` in the fixture script adds, in order (gguf-py puts the
    /// architecture first).
    static let metadata: [MetadataEntry] = [
        .init(key: "general.architecture", value: .string("llama")),
        .init(key: "general.name", value: .string("writer test")),
        .init(key: "test.count", value: .uint32(7)),
        .init(key: "test.scale", value: .float32(0.25)),
        .init(key: "test.flag", value: .bool(true)),
        .init(key: "test.tokens", value: .array(element: .string, [.string("<s>"), .string("</s>"), .string("hello")])),
        .init(key: "test.ids", value: .array(element: .int32, [.int32(1), .int32(-1), .int32(5)])),
        .init(key: "test.f64", value: .float64(-2.5)),
    ]

    static let plans: [TensorPlan] = [
        .init(name: "a.weight", dtype: .f32, shape: [2, 3]),
        .init(name: "b.q8", dtype: .q8_0, shape: [2, 32]),
        .init(name: "c.half", dtype: .f16, shape: [5]),
        .init(name: "d.scalar3d", dtype: .f32, shape: [2, 1, 3]),
    ]

    /// Tensor k's bytes: (i · 7 + k) & 0xFF.
    static func tensorBytes(_ index: Int) -> [UInt8] {
        (0..<(plans[index].byteCount ?? 0)).map { UInt8(truncatingIfNeeded: $0 * 7 + index) }
    }

    static func write(to path: String, alignment: Int = 32, overwrite: Bool = false) throws {
        let writer = try GGUFWriter(path: path, overwrite: overwrite, metadata: metadata, tensors: plans, alignment: alignment)
        for index in plans.indices {
            try feed(writer, tensorBytes(index))
        }
        try writer.finish()
    }

    /// Passes `bytes` to `writer.write` (typed-throws closures in withUnsafeBytes crash the 6.3 compiler).
    static func feed(_ writer: GGUFWriter, _ bytes: [UInt8]) throws(CheckpointError) {
        let result: Result<Void, CheckpointError> = bytes.withUnsafeBytes { raw in
            Result { () throws(CheckpointError) in try writer.write(raw) }
        }
        try result.get()
    }

    static func contents(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    @Test("output is byte-identical to gguf-py's", arguments: [(32, "writer_expected.gguf"), (64, "writer_expected_align64.gguf")])
    func matchesGGUFPy(alignment: Int, fixture: String) throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.gguf")
        try Self.write(to: path, alignment: alignment)
        let expected = try Self.contents(Fixtures.path("gguf/" + fixture))
        let actual = try Self.contents(path)
        #expect(actual.count == expected.count)
        let firstDifference = zip(actual, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(firstDifference == nil, "first differing byte at \(firstDifference ?? -1)")
        #expect(folder.contents == ["out.gguf"])
    }

    @Test("written files read back")
    func readBack() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.gguf")
        try Self.write(to: path, alignment: 64)
        let reader = try GGUFReader(path: path)
        #expect(reader.alignment == 64)
        #expect(reader.metadata == Self.metadata + [MetadataEntry(key: "general.alignment", value: .uint32(64))])
        #expect(reader.tensors.map(\.name) == Self.plans.map(\.name))
        #expect(reader.tensors.map(\.shape) == Self.plans.map(\.shape))
        #expect(reader.tensors.map(\.dtype) == Self.plans.map(\.dtype))
        for (index, tensor) in reader.tensors.enumerated() {
            #expect(try reader.bytes(of: tensor).array == Self.tensorBytes(index))
        }
    }

    @Test("an existing output is refused unless overwriting")
    func existingOutput() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("out.gguf", [1, 2, 3])
        let error = #expect(throws: CheckpointError.self) { try Self.write(to: path) }
        #expect((error?.problem as? FileProblem) == .outputExists)
        #expect(try Self.contents(path) == [1, 2, 3])
        try Self.write(to: path, overwrite: true)
        #expect(try Self.contents(path) == (try Self.contents(Fixtures.path("gguf/writer_expected.gguf"))))
        #expect(folder.contents == ["out.gguf"])
    }

    @Test("a tensor cut short abandons the file at finish() and leaves nothing behind")
    func wrongByteCount() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.gguf")
        let writer = try GGUFWriter(path: path, overwrite: false, metadata: Self.metadata, tensors: Self.plans)
        try Self.feed(writer, Self.tensorBytes(0))
        try Self.feed(writer, Array(Self.tensorBytes(1).dropLast()))
        let error = #expect(throws: CheckpointError.self) { try writer.finish() }
        #expect((error?.problem as? GGUFProblem) == .writerWrongByteCount(tensor: "b.q8", expected: 68, actual: 67))
        #expect(error?.isUsageError == true)
        #expect(folder.contents.isEmpty)
        let closed = #expect(throws: CheckpointError.self) { try writer.finish() }
        #expect((closed?.problem as? GGUFProblem) == .writerClosed)
        #expect(folder.contents.isEmpty)
    }

    @Test("writing past a tensor's size abandons the file at once")
    func overlongWrite() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.gguf")
        let writer = try GGUFWriter(path: path, overwrite: false, metadata: Self.metadata, tensors: Self.plans)
        try Self.feed(writer, Self.tensorBytes(0))
        let error = #expect(throws: CheckpointError.self) { try Self.feed(writer, Self.tensorBytes(1) + [0]) }
        #expect((error?.problem as? GGUFProblem) == .writerWrongByteCount(tensor: "b.q8", expected: 68, actual: 69))
        #expect(folder.contents.isEmpty)
    }

    @Test("tensors written in chunks give the same file")
    func chunkedWrites() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.gguf")
        let writer = try GGUFWriter(path: path, overwrite: false, metadata: Self.metadata, tensors: Self.plans)
        for index in Self.plans.indices {
            let bytes = Self.tensorBytes(index)
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + 7)
                try Self.feed(writer, Array(bytes[start..<end]))
                start = end
            }
            if bytes.isEmpty { try Self.feed(writer, []) }
        }
        try writer.finish()
        #expect(try Self.contents(path) == (try Self.contents(Fixtures.path("gguf/writer_expected.gguf"))))
    }

    @Test("finishing early abandons the file")
    func missingTensor() throws {
        let folder = TemporaryDirectory()
        let writer = try GGUFWriter(path: folder.file("out.gguf"), overwrite: false, metadata: Self.metadata, tensors: Self.plans)
        try Self.feed(writer, Self.tensorBytes(0))
        let error = #expect(throws: CheckpointError.self) { try writer.finish() }
        #expect((error?.problem as? GGUFProblem) == .writerMissingTensor("b.q8"))
        #expect(folder.contents.isEmpty)
    }

    @Test("dropping an unfinished writer leaves nothing behind")
    func dropped() throws {
        let folder = TemporaryDirectory()
        do {
            let writer = try GGUFWriter(path: folder.file("out.gguf"), overwrite: false, metadata: Self.metadata, tensors: Self.plans)
            try Self.feed(writer, Self.tensorBytes(0))
            #expect(folder.contents.count == 1)
        }
        #expect(folder.contents.isEmpty)
    }

    static let refusedPlans: [(String, [TensorPlan], [MetadataEntry], Int, GGUFProblem)] = [
        ("name of 64 bytes", [.init(name: String(repeating: "n", count: 64), dtype: .f32, shape: [1])], [], 32,
         .plannedNameInvalid(String(repeating: "n", count: 64))),
        ("empty name", [.init(name: "", dtype: .f32, shape: [1])], [], 32, .plannedNameInvalid("")),
        ("duplicate name", [.init(name: "x", dtype: .f32, shape: [1]), .init(name: "x", dtype: .f16, shape: [1])], [], 32,
         .plannedDuplicateTensor("x")),
        ("type without ggml id", [.init(name: "x", dtype: .c128, shape: [1])], [], 32, .plannedTypeNotStorable(tensor: "x", type: .c128)),
        ("five dimensions", [.init(name: "x", dtype: .f32, shape: [1, 1, 1, 1, 1])], [], 32, .plannedTooManyDimensions(tensor: "x", count: 5)),
        ("partial block rows", [.init(name: "x", dtype: .q8_0, shape: [32, 3])], [], 32,
         .plannedShapeInvalid(tensor: "x", shape: [32, 3], type: .q8_0)),
        ("negative dimension", [.init(name: "x", dtype: .f32, shape: [-1])], [], 32, .plannedShapeInvalid(tensor: "x", shape: [-1], type: .f32)),
        ("alignment 48", [], [], 48, .plannedAlignmentInvalid(48)),
        ("empty key", [], [.init(key: "", value: .uint8(1))], 32, .plannedMetadataInvalid(key: "", reason: "the key is empty")),
        ("duplicate key", [], [.init(key: "k", value: .uint8(1)), .init(key: "k", value: .uint8(2))], 32,
         .plannedMetadataInvalid(key: "k", reason: "the key appears more than once")),
        ("alignment key of wrong type", [], [.init(key: "general.alignment", value: .uint64(32))], 32,
         .plannedMetadataInvalid(key: "general.alignment", reason: "general.alignment must be a uint32")),
        ("mixed array", [], [.init(key: "a", value: .array(element: .int32, [.int32(1), .uint8(2)]))], 32,
         .plannedMetadataInvalid(key: "a", reason: "array elements must all be int32")),
    ]

    @Test("plans GGUF cannot hold are refused as usage errors", arguments: refusedPlans.indices)
    func refusedPlan(index: Int) throws {
        let (_, plans, metadata, alignment, problem) = Self.refusedPlans[index]
        let folder = TemporaryDirectory()
        let error = #expect(throws: CheckpointError.self) {
            try GGUFWriter(path: folder.file("out.gguf"), overwrite: false, metadata: metadata, tensors: plans, alignment: alignment)
        }
        #expect((error?.problem as? GGUFProblem) == problem)
        #expect(error?.isUsageError == true)
        #expect(folder.contents.isEmpty)
    }
}
