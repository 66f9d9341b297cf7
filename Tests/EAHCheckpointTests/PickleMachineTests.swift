import EAHCheckpoint
import EAHTestSupport
import Foundation
import Testing

@Suite struct PickleMachineTests {
    /// The file the malicious fixtures would create if anything ran them.
    static let marker = "/tmp/eah_torch_fixture_pwned"

    func problem(_ bytes: [UInt8]) -> PickleProblem? {
        do {
            _ = try PickleMachine.load(bytes)
            return nil
        } catch {
            return error
        }
    }

    func loadProblem(_ relative: String) -> CheckpointError? {
        do {
            _ = try PyTorchReader(path: Fixtures.path("torch/" + relative))
            return nil
        } catch {
            return error
        }
    }

    // MARK: Malicious pickles

    @Test(arguments: ["malicious_os_system.pt", "malicious_nested.pt", "malicious_legacy.pt"])
    func osSystemIsRefusedAndNothingRuns(_ fixture: String) throws {
        try? FileManager.default.removeItem(atPath: Self.marker)
        let error = try #require(loadProblem(fixture))
        // pickle writes os.system as posix.system on Linux.
        #expect(error.problem as? PickleProblem == .forbiddenGlobal(module: "posix", name: "system"))
        #expect(error.description.contains("posix.system"))
        #expect(error.description.contains("malicious"))
        #expect(error.description.contains("Nothing was executed"))
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func builtinsEvalIsRefused() throws {
        let error = try #require(loadProblem("malicious_eval.pt"))
        #expect(error.problem as? PickleProblem == .forbiddenGlobal(module: "builtins", name: "eval"))
        #expect(!FileManager.default.fileExists(atPath: Self.marker))
    }

    @Test func forbiddenGlobalsInEveryForm() {
        let global = { (module: String, name: String) -> [UInt8] in [0x80, 0x02, 0x63] + Array("\(module)\n\(name)\n".utf8) + [0x29, 0x52, 0x2E] }
        #expect(problem(global("os", "system")) == .forbiddenGlobal(module: "os", name: "system"))
        #expect(problem(global("__builtin__", "eval")) == .forbiddenGlobal(module: "builtins", name: "eval"))
        #expect(problem(global("builtins", "exec")) == .forbiddenGlobal(module: "builtins", name: "exec"))
        #expect(problem(global("subprocess", "Popen")) == .forbiddenGlobal(module: "subprocess", name: "Popen"))
        #expect(problem(global("torch", "load")) == .forbiddenGlobal(module: "torch", name: "load"))
        // STACK_GLOBAL (protocol 4) goes through the same allowlist.
        let stackGlobal: [UInt8] = [0x80, 0x04, 0x8C, 0x0A] + Array("subprocess".utf8) + [0x8C, 0x05] + Array("Popen".utf8) + [0x93, 0x2E]
        #expect(problem(stackGlobal) == .forbiddenGlobal(module: "subprocess", name: "Popen"))
    }

    // MARK: Opcodes

    @Test func protocol4Values() throws {
        // pickle.dumps({'a': [1, -2, 3.5, True, None, b'xy', (1, 2, 3), (4,)], 'big': 2**70, 'neg': -300000, 'u': 'ü'}, protocol=4)
        let bytes: [UInt8] = [128, 4, 149, 85, 0, 0, 0, 0, 0, 0, 0, 125, 148, 40, 140, 1, 97, 148, 93, 148, 40, 75, 1, 74, 254, 255, 255, 255, 71, 64, 12, 0, 0, 0, 0, 0, 0, 136, 78, 67, 2, 120, 121, 148, 75, 1, 75, 2, 75, 3, 135, 148, 75, 4, 133, 148, 101, 140, 3, 98, 105, 103, 148, 138, 9, 0, 0, 0, 0, 0, 0, 0, 0, 64, 140, 3, 110, 101, 103, 148, 74, 32, 108, 251, 255, 140, 1, 117, 148, 140, 2, 195, 188, 148, 117, 46]
        let value = try PickleMachine.load(bytes)
        #expect(value["a"] == .list([.int(1), .int(-2), .float(3.5), .bool(true), .none, .bytes([0x78, 0x79]), .tuple([.int(1), .int(2), .int(3)]), .tuple([.int(4)])]))
        #expect(value["big"] == .bigInt([0, 0, 0, 0, 0, 0, 0, 0, 64]))
        #expect(value["neg"] == .int(-300_000))
        #expect(value["u"] == .string("ü"))
    }

    @Test func protocol2Opcodes() throws {
        // LONG1 -1, BININT2, SHORT_BINSTRING, BINFLOAT, TUPLE2, memo PUT/GET, SETITEM, APPEND, NEWFALSE, EMPTY_SET.
        let bytes: [UInt8] = [0x80, 0x02, 0x7D, 0x71, 0x00,
                              0x55, 0x01, 0x6B, 0x8A, 0x01, 0xFF, 0x4D, 0x34, 0x12, 0x86, 0x73,
                              0x55, 0x01, 0x6C, 0x5D, 0x47, 0x3F, 0xF8, 0, 0, 0, 0, 0, 0, 0x61, 0x89, 0x61, 0x73,
                              0x55, 0x01, 0x73, 0x8F, 0x73,
                              0x55, 0x01, 0x6D, 0x68, 0x00, 0x30, 0x4E, 0x73, 0x2E]
        let value = try PickleMachine.load(bytes)
        #expect(value["k"] == .tuple([.int(-1), .int(0x1234)]))
        #expect(value["l"] == .list([.float(1.5), .bool(false)]))
        #expect(value["s"] == .set([]))
        #expect(value["m"] == PickleValue.none)
    }

    @Test func torchStructures() throws {
        let pickle = TorchPickleBuilder.stateDict([.init(name: "w", key: "3", numel: 6, offset: 1, size: [2, 2], stride: [1, 2])])
        let value = try PickleMachine.load(pickle)
        guard case .tensor(let tensor) = try #require(value["w"]) else { Issue.record("not a tensor"); return }
        #expect(tensor.storage == PickleStorage(typeName: "FloatStorage", key: "3", location: "cpu", elementCount: 6, view: nil))
        #expect(tensor.storageOffset == 1 && tensor.size == [2, 2] && tensor.stride == [1, 2] && tensor.dtypeName == nil)
    }

    // MARK: Malformed pickles

    @Test func structuralErrors() {
        #expect(problem([0x80, 0x02, 0x52, 0x2E]) == .stackUnderflow(opcode: "REDUCE", offset: 2))
        #expect(problem([0x80, 0x02, 0x4E, 0x28, 0x30, 0x2E]) == .stackUnderflow(opcode: "POP", offset: 4))
        #expect(problem([0x80, 0x02, 0x4E, 0x74, 0x2E]) == .markUnderflow(opcode: "TUPLE", offset: 3))
        #expect(problem([0x80, 0x02, 0x68, 0x05, 0x2E]) == .undefinedMemo(index: 5, offset: 2))
        #expect(problem([0x80, 0x02, 0x58, 0x10, 0, 0, 0, 0x61, 0x62]) == .truncated(opcode: "BINUNICODE", offset: 2))
        #expect(problem([0x80, 0x02, 0x4A, 0x01]) == .truncated(opcode: "BININT", offset: 2))
        #expect(problem([0x80, 0x02, 0x58, 0x02, 0, 0, 0, 0xFF, 0xFE, 0x2E]) == .invalidUTF8(offset: 2))
        #expect(problem([0x80, 0x02, 0x4E]) == .missingStop)
        #expect(problem([]) == .missingStop)
        #expect(problem([0x80, 0x02, 0x4E, 0x4E, 0x2E]) == .badStop(stackCount: 2))
        #expect(problem([0x80, 0x02, 0x49, 0x31, 0x0A, 0x2E]) == .unknownOpcode(opcode: 0x49, offset: 2))
        #expect(problem([0x80, 0x06, 0x4E, 0x2E]) == .unsupportedProtocol(6))
        #expect(problem([0x80, 0x02, 0x63, 0x6F, 0x73]) == .truncated(opcode: "GLOBAL", offset: 2))
        #expect(problem([0x80, 0x02, 0x63, 0x01, 0x0A]) == .invalidGlobalName(offset: 2))
    }

    @Test func containerRestrictions() {
        #expect(problem([0x5D, 0x4E, 0x4E, 0x73, 0x2E]) == .forbiddenSetItem(target: "list", offset: 3))
        #expect(problem([0x7D, 0x4E, 0x61, 0x2E]) == .forbiddenAppend(target: "dict", offset: 2))
        #expect(problem([0x4E, 0x4E, 0x62, 0x2E]) == .forbiddenBuild(target: "None", offset: 2))
        #expect(problem([0x7D, 0x5D, 0x4E, 0x73, 0x2E]) == .unhashableKey(offset: 3))
        // A list appended to itself is a cycle: bounded, not infinite.
        #expect(problem([0x5D, 0x71, 0x00, 0x68, 0x00, 0x61, 0x2E]) == .nestingTooDeep(limit: PickleMachine.maximumNesting))
        #expect(problem([UInt8](repeating: 0x28, count: PickleMachine.maximumMarks + 1)) == .nestingTooDeep(limit: PickleMachine.maximumMarks))
    }

    @Test func callRestrictions() {
        let dtype = TorchPickleBuilder.global("torch", "float32")
        #expect(problem(dtype + [0x29, 0x52, 0x2E]) == .forbiddenCall(target: "torch.float32", offset: 16))
        #expect(problem([0x4E, 0x29, 0x52, 0x2E]) == .forbiddenCall(target: "None", offset: 2))
        let ordered = TorchPickleBuilder.global("collections", "OrderedDict")
        #expect(problem(ordered + [0x4B, 0x01, 0x85, 0x52, 0x2E]) == .badArguments(callable: "collections.OrderedDict", detail: "expected no arguments"))
        let rebuild = TorchPickleBuilder.global("torch._utils", "_rebuild_tensor_v2")
        #expect(problem(rebuild + [0x4E, 0x85, 0x52, 0x2E]) == .badArguments(callable: "torch._utils._rebuild_tensor_v2", detail: "expected 6 or 7 arguments, got 1"))
        // A persistent id that is not ('storage', ...).
        #expect(problem([0x80, 0x02, 0x28] + TorchPickleBuilder.string("module") + [0x4B, 0x01, 0x74, 0x51, 0x2E])
            == .badPersistentID("expected ('storage', type, key, location, numel), got tuple"))
    }
}
