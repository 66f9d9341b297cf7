import EAHCheckpoint
import EAHTestSupport
import Testing

/// Issue 14, item 3: pickles built to exhaust the stack or memory are refused with a specific
/// error, in zip archives and legacy files alike.
@Suite struct HostilePickleTests {
    /// PROTO 2, None, then `count` TUPLE1s, STOP: tuples nested `count` deep in 50 KB.
    static func nestedTuples(_ count: Int) -> [UInt8] {
        [0x80, 0x02, 0x4E] + [UInt8](repeating: 0x85, count: count) + [0x2E]
    }

    /// A memo-sharing "billion laughs": entry 0 becomes (entry 0, entry 0) `levels` times, so the
    /// value would hold 2^levels leaves.
    static func billionLaughs(levels: Int) -> [UInt8] {
        var bytes: [UInt8] = [0x80, 0x02, 0x4E, 0x71, 0x00, 0x30]  // None, BINPUT 0, POP
        for _ in 0..<levels { bytes += [0x68, 0x00, 0x68, 0x00, 0x86, 0x71, 0x00, 0x30] }  // BINGET 0 ×2, TUPLE2, BINPUT 0, POP
        return bytes + [0x68, 0x00, 0x2E]
    }

    static let legacyMagic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]
    static let legacyProtocol: [UInt8] = [0x80, 0x02, 0x4D, 0xE9, 0x03, 0x2E]

    /// The problem opening `pickle` as a zip checkpoint's data.pkl and as a legacy file's
    /// system-info pickle raises.
    static func problems(_ pickle: [UInt8]) -> [PickleProblem?] {
        let folder = TemporaryDirectory()
        let legacy: [UInt8] = legacyMagic + legacyProtocol + pickle
        let files: [[UInt8]] = [TorchPickleBuilder.archive(pickle: pickle, storages: [:]), legacy]
        return files.map { bytes -> PickleProblem? in
            do {
                _ = try Checkpoint.open(folder.write("model.pt", bytes))
                return nil
            } catch let error as CheckpointError {
                return error.problem as? PickleProblem
            } catch {
                return nil
            }
        }
    }

    @Test func fiftyThousandNestedTuplesAreRefused() {
        let pickle = Self.nestedTuples(50_000)
        #expect((try? PickleMachine.load(pickle)) == nil)
        #expect(Self.problems(pickle) == [.nestingTooDeep(limit: PickleMachine.maximumNesting), .nestingTooDeep(limit: PickleMachine.maximumNesting)])
        // At the limit it still loads.
        #expect(throws: Never.self) { try PickleMachine.load(Self.nestedTuples(PickleMachine.maximumNesting - 1)) }
    }

    @Test func billionLaughsIsRefusedWithinItsBudget() {
        let pickle = Self.billionLaughs(levels: 70)
        #expect(pickle.count < 606)
        let limit = PickleMachine.minimumValueBudget
        do {
            _ = try PickleMachine.load(pickle)
            Issue.record("the pickle loaded")
        } catch {
            #expect(error == .tooManyValues(limit: limit))
        }
        #expect(Self.problems(pickle) == [.tooManyValues(limit: limit), .tooManyValues(limit: limit)])
        // Sharing that stays small loads.
        #expect(throws: Never.self) { try PickleMachine.load(Self.billionLaughs(levels: 10)) }
    }

    /// A 1 MiB string memoized once and listed `references` times: few values, but each holds
    /// the string.
    static func sharedString(references: Int) -> [UInt8] {
        let size = 1 << 20
        var bytes: [UInt8] = [0x80, 0x02, 0x58] + withUnsafeBytes(of: UInt32(size).littleEndian) { Array($0) }
        bytes += [UInt8](repeating: UInt8(ascii: "a"), count: size) + [0x71, 0x00, 0x30, 0x28]  // BINUNICODE, BINPUT 0, POP, MARK
        for _ in 0..<references { bytes += [0x68, 0x00] }  // BINGET 0
        return bytes + [0x6C, 0x2E]  // LIST, STOP
    }

    /// Issue 14, Deliver 2 (total allocation per file): what the values hold in all is bounded
    /// relative to the pickle's size, although each value and their count are within limits.
    @Test func sharedStringsAreRefusedByTheAllocationBudget() {
        let pickle = Self.sharedString(references: 200)
        let limit = AllocationBudget.pickle(size: pickle.count).limit
        #expect(limit == 64 << 20 + 64 * pickle.count)
        #expect(throws: PickleProblem.allocationBudget(limit: limit)) { try PickleMachine.load(pickle) }
        let problems = Self.problems(pickle)
        #expect(problems.first == .allocationBudget(limit: limit))
        if case .allocationBudget? = problems.last {} else { Issue.record("the legacy file gave \(String(describing: problems.last))") }
        // Fewer references fit: 40 × 1 MiB is within 64 MiB + 64 bytes per pickle byte.
        #expect(throws: Never.self) { try PickleMachine.load(Self.sharedString(references: 40)) }
    }
}
