import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite struct PyTorchMalformedTests {
    typealias T = TorchPickleBuilder.Tensor

    /// The problem opening `bytes` as a PyTorch checkpoint raises, or nil when it opens.
    func problem(_ bytes: [UInt8]) -> (any CheckpointProblem)? {
        let folder = TemporaryDirectory()
        do {
            _ = try PyTorchReader(path: folder.write("model.pt", bytes))
            return nil
        } catch {
            return error.problem
        }
    }

    func torchProblem(_ bytes: [UInt8]) -> TorchProblem? { problem(bytes) as? TorchProblem }

    func archive(_ tensors: [T], storages: [String: Int]) -> [UInt8] {
        TorchPickleBuilder.archive(
            pickle: TorchPickleBuilder.stateDict(tensors),
            storages: storages.mapValues { [UInt8](repeating: 0, count: $0) })
    }

    func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.path("torch/" + name))))
    }

    @Test func builderArchiveIsValid() throws {
        let folder = TemporaryDirectory()
        let bytes = archive([T(name: "w", numel: 6, offset: 1, size: [2, 2], stride: [1, 2])], storages: ["0": 24])
        let reader = try PyTorchReader(path: folder.write("ok.pt", bytes))
        #expect(reader.tensors.map(\.name) == ["w"])
        #expect(reader.tensors[0].view == StridedView(offset: 1, strides: [1, 2]))
        #expect(try reader.bytes(of: reader.tensors[0]).count == 16)
    }

    @Test func detection() {
        #expect(torchProblem(Array("PYTORCH1".utf8) + [UInt8](repeating: 0, count: 32)) == .previewFormat)
        var tar = [UInt8](repeating: 0, count: 512)
        tar.replaceSubrange(257..<262, with: Array("ustar".utf8))
        #expect(torchProblem(tar) == .tarFormat)
        #expect(torchProblem(Array("hello world".utf8)) == .notPyTorch)
        #expect(torchProblem([]) == .notPyTorch)
        #expect(torchProblem([0x50, 0x4B, 0x03]) == .notPyTorch)
    }

    @Test func archiveRecords() {
        let pickle = TorchPickleBuilder.stateDict([])
        var noPickle = ZipTestBuilder()
        noPickle.add("archive/version", "3\n")
        #expect(torchProblem(noPickle.build()) == .missingRecord("data.pkl"))

        var noPrefix = ZipTestBuilder()
        noPrefix.add("data.pkl", pickle)
        #expect(torchProblem(noPrefix.build()) == .noArchivePrefix("data.pkl"))

        var mixed = ZipTestBuilder()
        mixed.add("a/data.pkl", pickle)
        mixed.add("b/version", "3\n")
        #expect(torchProblem(mixed.build()) == .mixedArchivePrefixes("b/version"))

        var noVersion = ZipTestBuilder()
        noVersion.add("archive/data.pkl", pickle)
        #expect(torchProblem(noVersion.build()) == .missingRecord("version"))

        #expect(torchProblem(TorchPickleBuilder.archive(pickle: pickle, storages: [:], version: "11\n")) == .unsupportedVersion("11"))
        #expect(torchProblem(TorchPickleBuilder.archive(pickle: pickle, storages: [:], version: "0")) == .unsupportedVersion("0"))
        #expect(torchProblem(TorchPickleBuilder.archive(pickle: pickle, storages: [:], version: "three")) == .unsupportedVersion("three"))
        #expect(torchProblem(TorchPickleBuilder.archive(pickle: pickle, storages: [:], byteorder: "middle")) == .invalidByteOrder("middle"))
        // Version 10 and no byteorder record are accepted (an empty state dict).
        #expect(problem(TorchPickleBuilder.archive(pickle: pickle, storages: [:], version: "10", byteorder: nil)) == nil)

        var script = ZipTestBuilder()
        script.add("archive/data.pkl", pickle)
        script.add("archive/constants.pkl", [0x80, 0x02, 0x29, 0x2E])
        script.add("archive/version", "3\n")
        #expect(torchProblem(script.build()) == .torchScriptArchive)
    }

    @Test func storages() {
        let w = T(name: "w", numel: 4, size: [4], stride: [1])
        #expect(torchProblem(archive([w], storages: ["0": 12])) == .recordSizeMismatch(key: "0", expected: 16, actual: 12))
        #expect(torchProblem(archive([w], storages: ["1": 16])) == .missingStorage(key: "0"))
        var quantized = w
        quantized.storageType = "QInt8Storage"
        #expect(torchProblem(archive([quantized], storages: ["0": 4])) == .unknownStorageType("QInt8Storage"))
        var conflicting = w
        conflicting.name = "v"
        conflicting.storageType = "IntStorage"
        #expect(torchProblem(archive([w, conflicting], storages: ["0": 16])) == .storageTypeConflict(key: "0"))
        var absurd = w
        absurd.numel = 1 << 62
        #expect(torchProblem(archive([absurd], storages: ["0": 16])) == .recordSizeMismatch(key: "0", expected: Int.max, actual: 16))
        // A storage type outside the allowlist never reaches the reader.
        var forged = w
        forged.storageType = "EvilStorage"
        #expect(problem(archive([forged], storages: ["0": 16])) as? PickleProblem == .forbiddenGlobal(module: "torch", name: "EvilStorage"))
    }

    @Test func views() {
        func check(_ tensor: T, _ expected: TorchProblem) {
            #expect(torchProblem(archive([tensor], storages: ["0": 16])) == expected, "\(tensor)")
        }
        check(T(name: "w", numel: 4, offset: 1, size: [2, 2], stride: [2, 1]), .viewOutOfBounds(tensor: "w"))
        check(T(name: "w", numel: 4, offset: 4, size: [], stride: []), .viewOutOfBounds(tensor: "w"))
        check(T(name: "w", numel: 4, size: [2], stride: [Int.max]), .viewOutOfBounds(tensor: "w"))
        check(T(name: "w", numel: 4, size: [2, 2], stride: [1]), .invalidView(tensor: "w", detail: "2 sizes but 1 strides"))
        check(T(name: "w", numel: 4, size: [2], stride: [-1]), .invalidView(tensor: "w", detail: "negative size, stride or offset"))
        check(T(name: "w", numel: 4, offset: -1, size: [2], stride: [1]), .invalidView(tensor: "w", detail: "negative size, stride or offset"))
        check(T(name: "w", numel: 4, size: [-2], stride: [1]), .invalidView(tensor: "w", detail: "negative size, stride or offset"))
        check(T(name: "w", numel: 4, size: [1 << 40, 1 << 40], stride: [0, 0]), .invalidView(tensor: "w", detail: "the element count overflows"))
        // Zero-sized tensors never read the storage, whatever their offset; stride-0 views fit.
        #expect(problem(archive([T(name: "w", numel: 4, offset: 100, size: [0, 3], stride: [3, 1])], storages: ["0": 16])) == nil)
        #expect(problem(archive([T(name: "w", numel: 4, size: [1000, 4], stride: [0, 1])], storages: ["0": 16])) == nil)
    }

    @Test func hugeExpandedViewsAreRefusedOnRead() throws {
        let folder = TemporaryDirectory()
        let bytes = archive([T(name: "w", numel: 4, size: [1 << 31, 4], stride: [0, 1])], storages: ["0": 16])
        let reader = try PyTorchReader(path: folder.write("expand.pt", bytes))
        let error = #expect(throws: CheckpointError.self) { try reader.bytes(of: reader.tensors[0]) }
        #expect(error?.problem as? TorchProblem == .viewTooLarge(tensor: "w", bytes: 1 << 35))
    }

    @Test func stateDictSearch() {
        // A list at the top level, and a dict without tensors.
        let list = TorchPickleBuilder.archive(pickle: [0x80, 0x02, 0x5D, 0x2E], storages: [:])
        #expect(torchProblem(list) == .noStateDict)
        let ints: [UInt8] = [0x80, 0x02, 0x7D] + TorchPickleBuilder.string("epoch") + [0x4B, 0x03, 0x73, 0x2E]
        #expect(torchProblem(TorchPickleBuilder.archive(pickle: ints, storages: [:])) == .noStateDict)
    }

    @Test func picklesInsideArchives() {
        let underflow = TorchPickleBuilder.archive(pickle: [0x80, 0x02, 0x52, 0x2E], storages: [:])
        #expect(problem(underflow) as? PickleProblem == .stackUnderflow(opcode: "REDUCE", offset: 2))
        let unknown = TorchPickleBuilder.archive(pickle: [0x80, 0x02, 0x49, 0x31, 0x0A, 0x2E], storages: [:])
        #expect(problem(unknown) as? PickleProblem == .unknownOpcode(opcode: 0x49, offset: 2))
        let truncated = TorchPickleBuilder.stateDict([T(name: "w", numel: 4, size: [4], stride: [1])])
        let cut = TorchPickleBuilder.archive(pickle: Array(truncated.dropLast(1)), storages: ["0": [UInt8](repeating: 0, count: 16)])
        #expect(problem(cut) as? PickleProblem == .missingStop)
    }

    @Test func legacyProblems() throws {
        #expect(torchProblem([0x80, 0x02, 0x4B, 0x05, 0x2E]) == .badLegacyMagic)
        let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
        #expect(torchProblem(magic + [0x80, 0x02, 0x4D, 0xEA, 0x03, 0x2E]) == .badLegacyProtocol)
        #expect(torchProblem(magic + [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E, 0x80, 0x02, 0x4E, 0x2E]) == .badLegacySystemInfo)

        let original = try fixture("legacy.pt")
        // The raw section starts after five pickles: magic, protocol, sys_info, object, keys.
        let rawStart: Int = original.withUnsafeBytes { raw in
            var machine = PickleMachine(bytes: UnsafeRawBufferPointer(raw))
            for _ in 0..<5 { _ = try? machine.load() }
            return machine.offset
        }
        var count = original
        count[rawStart] &+= 1
        guard case .legacyStorageSizeMismatch = torchProblem(count) else {
            Issue.record("expected a legacy storage size mismatch")
            return
        }
        // Truncated inside the raw section, inside the keys pickle and inside the object.
        for length in [original.count - 1, rawStart + 4] {
            guard case .truncated = problem(Array(original.prefix(length))) as? FileProblem else {
                Issue.record("expected truncation at \(length)")
                continue
            }
        }
        #expect(problem(Array(original.prefix(rawStart - 1))) as? PickleProblem == .missingStop)
        #expect(problem(Array(original.prefix(200))) is PickleProblem)
    }

    @Test func truncatedZipCheckpoints() throws {
        let original = try fixture("dtypes.pt")
        for length in [8, 64, 1000, original.count - 22, original.count - 1] {
            #expect(problem(Array(original.prefix(length))) as? ZipProblem == .endOfCentralDirectoryNotFound, "\(length)")
        }
    }
}
