import EAHCheckpoint
import EAHCore
import EAHTestSupport
import Foundation
import Testing

@Suite struct SafetensorsWriterTests {
    private func readFile(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Writes `bytes[name]` for every plan in the writer's order, then finishes.
    private func writeAll(_ writer: SafetensorsWriter, _ bytes: [String: [UInt8]]) throws {
        for plan in writer.writeOrder { try writer.write(bytes[plan.name] ?? []) }
        try writer.finish()
    }

    @Test func byteIdenticalToSaveFile() throws {
        let expected = try ExpectedSafetensors.load("all_dtypes.safetensors")
        // Hand the plans over in name order; the writer must find the reference's data order.
        let plans = try expected.tensors.sorted { $0.name < $1.name }.map { tensor in
            TensorPlan(name: tensor.name, dtype: try #require(DType(rawValue: tensor.dtype)), shape: tensor.shape)
        }
        let bytes = Dictionary(uniqueKeysWithValues: expected.tensors.map { ($0.name, $0.bytes) })
        let folder = TemporaryDirectory()
        let path = folder.file("out.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false, tensors: plans)
        #expect(writer.writeOrder.map(\.name) == expected.tensors.map(\.name))
        try writeAll(writer, bytes)
        #expect(try readFile(path) == SafetensorsBytes.fixture())
        #expect(folder.contents == ["out.safetensors"])
    }

    @Test func byteIdenticalForEachShard() throws {
        for shard in ["sharded/model-00001-of-00002.safetensors", "sharded/model-00002-of-00002.safetensors"] {
            let expected = try ExpectedSafetensors.load(shard)
            let plans = try expected.tensors.reversed().map { tensor in
                TensorPlan(name: tensor.name, dtype: try #require(DType(rawValue: tensor.dtype)), shape: tensor.shape)
            }
            let folder = TemporaryDirectory()
            let path = folder.file("out.safetensors")
            try writeAll(try SafetensorsWriter(path: path, overwrite: false, tensors: plans),
                         Dictionary(uniqueKeysWithValues: expected.tensors.map { ($0.name, $0.bytes) }))
            #expect(try readFile(path) == SafetensorsBytes.fixture(shard))
        }
    }

    @Test func headerLayout() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("x.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false,
                                           tensors: [TensorPlan(name: "attn.0", dtype: .f32, shape: [1, 2, 3])],
                                           metadata: [("a\"b", "line\nbreak"), ("format", "mlx")])
        let text = String(decoding: writer.header.dropFirst(8), as: UTF8.self)
        #expect(text == #"{"__metadata__":{"format":"mlx","a\"b":"line\nbreak"},"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#
                + String(repeating: " ", count: 3))
        #expect((writer.header.count - 8) % 8 == 0)
        try writeAll(writer, ["attn.0": [UInt8](repeating: 1, count: 24)])
        let reader = try SafetensorsReader(path: path)
        #expect(reader.metadata == [MetadataEntry(key: "format", value: .string("mlx")), MetadataEntry(key: "a\"b", value: .string("line\nbreak"))])
    }

    @Test func roundTrip() throws {
        let plans = [
            TensorPlan(name: "w", dtype: .bf16, shape: [3, 2]),
            TensorPlan(name: "s", dtype: .f64, shape: []),
            TensorPlan(name: "z", dtype: .i32, shape: [0, 5]),
            TensorPlan(name: "q", dtype: .f4, shape: [4]),
            TensorPlan(name: "é", dtype: .u8, shape: [3]),
            TensorPlan(name: "B", dtype: .u8, shape: [1]),
        ]
        var bytes: [String: [UInt8]] = [:]
        for (index, plan) in plans.enumerated() {
            bytes[plan.name] = (0..<(plan.byteCount ?? 0)).map { UInt8(truncatingIfNeeded: $0 * 31 + index) }
        }
        let folder = TemporaryDirectory()
        let path = folder.file("rt.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false, tensors: plans, metadata: [("k", "v")])
        #expect(writer.writeOrder.map(\.name) == ["s", "z", "w", "B", "é", "q"])
        try writeAll(writer, bytes)
        let reader = try SafetensorsReader(path: path)
        #expect(reader.tensors.map(\.name) == writer.writeOrder.map(\.name))
        for plan in plans {
            let tensor = try #require(reader.tensor(named: plan.name))
            #expect(tensor.dtype == plan.dtype)
            #expect(tensor.shape == plan.shape)
            #expect(try reader.bytes(of: tensor).array == bytes[plan.name])
        }
        #expect(reader.metadata.map(\.key) == ["format", "k"])
        #expect(reader.dataOffset % 8 == 0)
    }

    @Test func existingOutputIsRefusedWithoutOverwrite() throws {
        let folder = TemporaryDirectory()
        let path = folder.write("out.safetensors", [1, 2, 3])
        do throws(CheckpointError) {
            _ = try SafetensorsWriter(path: path, overwrite: false, tensors: [])
            Issue.record("expected an error")
        } catch {
            #expect(error.problem as? FileProblem == .outputExists)
            #expect(error.isUsageError)
        }
        #expect(try readFile(path) == [1, 2, 3])
        #expect(folder.contents == ["out.safetensors"])
        let writer = try SafetensorsWriter(path: path, overwrite: true, tensors: [])
        try writer.finish()
        #expect(try SafetensorsReader(path: path).tensors.isEmpty)
        #expect(folder.contents == ["out.safetensors"])
    }

    @Test func wrongByteCountAbortsAndLeavesNoFile() throws {
        let folder = TemporaryDirectory()
        let path = folder.file("out.safetensors")
        let writer = try SafetensorsWriter(path: path, overwrite: false,
                                           tensors: [TensorPlan(name: "a", dtype: .f32, shape: [2]), TensorPlan(name: "b", dtype: .u8, shape: [1])])
        try writer.write([UInt8](repeating: 0, count: 8))
        do throws(CheckpointError) {
            try writer.write([1, 2])
            Issue.record("expected an error")
        } catch {
            #expect(error.problem as? SafetensorsProblem == .wrongByteCount(tensor: "b", expected: 1, actual: 2))
        }
        #expect(folder.contents.isEmpty)
        // The writer stays failed.
        do throws(CheckpointError) {
            try writer.finish()
            Issue.record("expected an error")
        } catch {
            #expect(error.problem is SafetensorsProblem)
        }
        #expect(folder.contents.isEmpty)
    }

    @Test func finishingEarlyOrWritingTooMuchAborts() throws {
        let folder = TemporaryDirectory()
        let plans = [TensorPlan(name: "a", dtype: .u8, shape: [1])]
        let early = try SafetensorsWriter(path: folder.file("a.safetensors"), overwrite: false, tensors: plans)
        #expect(throws: CheckpointError.self) { try early.finish() }
        let extra = try SafetensorsWriter(path: folder.file("b.safetensors"), overwrite: false, tensors: plans)
        try extra.write([1])
        #expect(throws: CheckpointError.self) { try extra.write([1]) }
        #expect(folder.contents.isEmpty)
    }

    @Test func droppingTheWriterLeavesNoFile() throws {
        let folder = TemporaryDirectory()
        do {
            let writer = try SafetensorsWriter(path: folder.file("x.safetensors"), overwrite: false,
                                               tensors: [TensorPlan(name: "a", dtype: .u8, shape: [1])])
            _ = writer.writeOrder
        }
        #expect(folder.contents.isEmpty)
    }

    @Test func refusesPlansSafetensorsCannotHold() {
        let folder = TemporaryDirectory()
        func problem(_ plans: [TensorPlan], metadata: [(String, String)] = []) -> SafetensorsProblem? {
            do throws(CheckpointError) {
                _ = try SafetensorsWriter(path: folder.file("x.safetensors"), overwrite: false, tensors: plans, metadata: metadata)
                return nil
            } catch {
                #expect(error.isUsageError)
                return error.problem as? SafetensorsProblem
            }
        }
        #expect(problem([TensorPlan(name: "q", dtype: .q8_0, shape: [32])]) == .unsupportedDType(tensor: "q", dtype: "Q8_0"))
        #expect(problem([TensorPlan(name: "c", dtype: .c128, shape: [1])]) == .unsupportedDType(tensor: "c", dtype: "C128"))
        #expect(problem([TensorPlan(name: "a", dtype: .u8, shape: [1]), TensorPlan(name: "a", dtype: .f32, shape: [1])]) == .duplicateTensorName("a"))
        #expect(problem([TensorPlan(name: "__metadata__", dtype: .u8, shape: [1])]) == .reservedName)
        #expect(problem([TensorPlan(name: "n", dtype: .u8, shape: [-1])]) == .invalidShape(tensor: "n"))
        #expect(problem([TensorPlan(name: "f", dtype: .f4, shape: [3])]) == .invalidShape(tensor: "f"))
        #expect(problem([TensorPlan(name: "o", dtype: .f64, shape: [1 << 40, 1 << 40])]) == .invalidShape(tensor: "o"))
        #expect(problem([], metadata: [("k", "1"), ("k", "2")]) == .duplicateMetadataKey("k"))
        #expect(folder.contents.isEmpty)
    }
}
